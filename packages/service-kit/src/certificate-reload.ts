import { readFile } from 'node:fs/promises';
import { createSecureContext } from 'node:tls';
import type { experimental } from '@grpc/grpc-js';

type CertificateProvider = experimental.CertificateProvider;
type CaListener = experimental.CaCertificateUpdateListener;
type IdentityListener = experimental.IdentityCertificateUpdateListener;

export interface CertificateFiles {
  caFile: string;
  certFile: string;
  keyFile: string;
}

export interface CertificateBytes {
  ca: Buffer;
  cert: Buffer;
  key: Buffer;
}

export type CertificateReloadEvent =
  | { type: 'reloaded'; files: CertificateFiles }
  | { type: 'refused'; files: CertificateFiles; reason: string };

/**
 * The CA and this process's certificate and key, read again every `intervalMs` while a gRPC
 * server or channel uses them; a change (cert-manager renewed the certificate) is handed to grpc-js
 * and used by every new connection, once the three files make a valid pair. A pair caught half
 * written (a new certificate beside the old key) is refused and the one in use kept, so a
 * rotation never leaves the service without certificates; the next read picks up the whole pair.
 *
 * grpc-js's own FileWatcherCertificateProvider passes on whatever it reads, and a pair that does
 * not match makes the server drop every connection until its next read.
 */
export class ReloadingCertificates implements CertificateProvider {
  #current: CertificateBytes;
  readonly #caListeners = new Set<CaListener>();
  readonly #identityListeners = new Set<IdentityListener>();
  #timer: NodeJS.Timeout | undefined;
  #reading = false;

  constructor(
    readonly files: CertificateFiles,
    initial: CertificateBytes,
    private readonly o: { intervalMs: number; onEvent?: (event: CertificateReloadEvent) => void },
  ) {
    this.#current = initial;
  }

  /** What is in use now. */
  get current(): CertificateBytes {
    return this.#current;
  }

  /** Reads the files now; resolves true when they changed and were taken. */
  async reload(): Promise<boolean> {
    if (this.#reading) return false;
    this.#reading = true;
    try {
      const [ca, cert, key] = await Promise.all(
        [this.files.caFile, this.files.certFile, this.files.keyFile].map((file) => readFile(file)),
      );
      const next = { ca, cert, key } as CertificateBytes;
      const current = this.#current;
      if (next.ca.equals(current.ca) && next.cert.equals(current.cert) && next.key.equals(current.key)) return false;
      // Throws on a key that does not belong to the certificate, or on unreadable PEM.
      createSecureContext({ ca: next.ca, cert: next.cert, key: next.key });
      this.#current = next;
      for (const listener of this.#caListeners) listener({ caCertificate: next.ca });
      for (const listener of this.#identityListeners) listener({ certificate: next.cert, privateKey: next.key });
      this.o.onEvent?.({ type: 'reloaded', files: this.files });
      return true;
    } catch (err) {
      this.o.onEvent?.({ type: 'refused', files: this.files, reason: (err as Error).message });
      return false;
    } finally {
      this.#reading = false;
    }
  }

  addCaCertificateListener(listener: CaListener): void {
    this.#caListeners.add(listener);
    process.nextTick(listener, { caCertificate: this.#current.ca });
    this.#watch();
  }

  removeCaCertificateListener(listener: CaListener): void {
    this.#caListeners.delete(listener);
    this.#unwatchWhenUnused();
  }

  addIdentityCertificateListener(listener: IdentityListener): void {
    this.#identityListeners.add(listener);
    process.nextTick(listener, { certificate: this.#current.cert, privateKey: this.#current.key });
    this.#watch();
  }

  removeIdentityCertificateListener(listener: IdentityListener): void {
    this.#identityListeners.delete(listener);
    this.#unwatchWhenUnused();
  }

  #watch(): void {
    if (this.#timer !== undefined) return;
    this.#timer = setInterval(() => void this.reload(), this.o.intervalMs);
    this.#timer.unref(); // reading certificates is no reason to keep the process alive
  }

  #unwatchWhenUnused(): void {
    if (this.#caListeners.size > 0 || this.#identityListeners.size > 0) return;
    clearInterval(this.#timer);
    this.#timer = undefined;
  }
}
