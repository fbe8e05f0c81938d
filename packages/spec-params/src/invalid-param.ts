import { TesseraError } from '@tessera/errors';

/** 400 M_INVALID_PARAM: the message names the parameter and the rule, never the value (it may be a secret). */
export const invalidParam = (message: string) => new TesseraError('M_INVALID_PARAM', message);
