import { createReadStream, statSync } from 'node:fs';
import { Transform } from 'node:stream';
import { loadConfig } from '@tessera/config';
import { ADMIN_PATHS, type ImportSummary } from '@tessera/directory';
import { type AdminEndpoint, adminEndpointOf, postAdmin, splitFlags } from './admin-endpoint.js';
import type { CliIo } from './cli.js';
import { UsageError } from './cli.js';

const USAGE =
  'directory takes "import <file.jsonl>", "bind <medium> <address> <mxid>", "unbind <medium> <address>" or "pepper-rotate"';
/** How often an import says how far it got. */
const PROGRESS_EVERY_MS = 2_000;

/**
 * `tessera directory …`: the directory's admin API (see ../../services/directory/src/admin) from
 * the command line. The API is found with `--admin-url`, TESSERA_DIRECTORY_ADMIN_LISTEN, or the
 * local runner's state file under TESSERA_DATA_DIR; TESSERA_DIRECTORY_ADMIN_TOKEN_FILE is its token.
 */
export async function directoryCommand(args: string[], io: CliIo): Promise<number> {
  const { positional, adminUrl } = splitFlags(args, 'directory');
  const [action, ...rest] = positional;
  const expect = (count: number, shape: string) => {
    if (rest.length !== count) throw new UsageError(`directory ${action} takes ${shape}`);
  };
  const say = (line: string) => void io.out.write(`${line}\n`);
  const endpoint = () => adminEndpointOf('directory', loadConfig(io.env), adminUrl);
  switch (action) {
    case 'import':
      expect(1, '<file.jsonl>');
      return importFile(endpoint(), rest[0] as string, io);
    case 'bind': {
      expect(3, '<medium> <address> <mxid>');
      const [medium, address, mxid] = rest;
      const signed = await postAdmin(endpoint(), ADMIN_PATHS.bind, { medium, address, mxid });
      say(JSON.stringify(signed));
      return 0;
    }
    case 'unbind': {
      expect(2, '<medium> <address>');
      const [medium, address] = rest;
      await postAdmin(endpoint(), ADMIN_PATHS.unbind, { medium, address });
      say(`unbound ${medium} ${address} (if it was bound): lookups no longer find it and its sealed data is erased`);
      return 0;
    }
    case 'pepper-rotate': {
      expect(0, 'nothing');
      const { pepper_id: pepperId } = (await postAdmin(endpoint(), ADMIN_PATHS.rotatePepper, {})) as {
        pepper_id: string;
      };
      say(
        `requested a new lookup pepper (id ${pepperId}): hash_details offers it once the projector has built ` +
          'its hashed index; the old one is accepted for TESSERA_PEPPER_GRACE_MS after that',
      );
      return 0;
    }
    default:
      throw new UsageError(`${USAGE} (got ${JSON.stringify(action ?? '')})`);
  }
}

/**
 * Streams the file to the import endpoint as it is read (the directory reads it line by line, so
 * what has been sent is about what has been stored), says how far it got every two seconds, and
 * prints the summary. Exit code 1 when a line failed.
 */
async function importFile(endpoint: AdminEndpoint, file: string, { out, err }: CliIo): Promise<number> {
  let size: number;
  try {
    size = statSync(file).size;
  } catch (error) {
    throw new Error(`cannot read ${file}: ${(error as NodeJS.ErrnoException).code ?? 'error'}`);
  }
  const started = Date.now();
  let sent = 0;
  let lines = 0;
  const counting = new Transform({
    transform(chunk: Buffer, _encoding, done) {
      sent += chunk.length;
      for (let at = chunk.indexOf(10); at !== -1; at = chunk.indexOf(10, at + 1)) lines++;
      done(null, chunk);
    },
  });
  const progress = setInterval(() => {
    const percent = size === 0 ? 100 : Math.floor((sent / size) * 100);
    const note = sent === size ? ' (all sent; waiting for the projector to apply the last lines)' : '';
    err.write(
      `sent ${lines} lines, ${megabytes(sent)} of ${megabytes(size)} (${percent}%) in ${seconds(started)}${note}\n`,
    );
  }, PROGRESS_EVERY_MS);
  const source = createReadStream(file);
  source.once('error', (error) => counting.destroy(error));
  let summary: ImportSummary;
  try {
    summary = (await postAdmin(endpoint, ADMIN_PATHS.import, source.pipe(counting))) as ImportSummary;
  } finally {
    clearInterval(progress);
  }
  out.write(
    `imported ${summary.imported}, failed ${summary.failed} from ${file} in ${seconds(started)} ` +
      '(every imported association is visible to lookups)\n',
  );
  for (const failure of summary.failures) out.write(`  line ${failure.line}: ${failure.errcode} ${failure.error}\n`);
  if (summary.failed > summary.failures.length)
    out.write(`  … and ${summary.failed - summary.failures.length} more failed lines\n`);
  return summary.failed === 0 ? 0 : 1;
}

const megabytes = (bytes: number) => `${(bytes / 1_000_000).toFixed(1)} MB`;
const seconds = (since: number) => `${((Date.now() - since) / 1000).toFixed(1)} s`;
