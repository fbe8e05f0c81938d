// @peculiar/x509 registers its algorithms with tsyringe, which needs the reflect-metadata API
// before it loads: keep this the first import.
import 'reflect-metadata';

export * as x509 from '@peculiar/x509';
