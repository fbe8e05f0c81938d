# Sourced by the image and compose scripts: podman as it runs on this kind of machine (a sandbox in
# which crun and systemd's cgroup manager fail), through containers.conf beside this file. An
# operator whose podman works as installed sets CONTAINERS_CONF to their own file.
images_dir=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo_root=$(cd "$images_dir/../.." && pwd)
export CONTAINERS_CONF="${CONTAINERS_CONF:-$images_dir/containers.conf}"
