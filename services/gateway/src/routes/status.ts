import { answerJson } from '../answer.js';
import type { Route } from './route.js';
import { V1, V2 } from './route.js';

/** Spec versions whose Identity Service API this server implements, per /_matrix/identity/versions. */
export const SUPPORTED_VERSIONS = [
  'r0.1.0',
  'r0.2.0',
  'r0.2.1',
  'r0.3.0',
  'v1.1',
  'v1.2',
  'v1.3',
  'v1.4',
  'v1.5',
  'v1.6',
  'v1.7',
  'v1.8',
  'v1.9',
  'v1.10',
  'v1.11',
  'v1.12',
  'v1.13',
  'v1.14',
  'v1.15',
  'v1.16',
  'v1.17',
  'v1.18',
  'v1.19',
] as const;

// The same text for every request: made once.
const VERSIONS = answerJson({ versions: SUPPORTED_VERSIONS });
const EMPTY = answerJson({});

/** /versions and the two status pings (hot routes: load balancers poll them), on the lean path. */
export function statusRoutes(): Route[] {
  return [
    { method: 'GET', path: '/versions', answer: () => VERSIONS },
    { method: 'GET', path: V2, answer: () => EMPTY },
    { method: 'GET', path: V1, answer: () => EMPTY },
  ];
}
