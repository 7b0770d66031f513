/**
 * CloudFormation rejects a custom resource's response over 4,096 bytes ("Response object is too long")
 * and then waits for the resource to time out. Everything the handler answers is bounded here: the
 * attributes of a success, and the message of a failure (the Provider framework sends it as `Reason`
 * with the function's log group and the error's stack). Full detail goes to the log.
 */

import { withoutUrlCredentials } from '../engine/redact';

/** CloudFormation's limit on the whole response document. */
export const RESPONSE_LIMIT = 4096;
/**
 * What the response spends besides `Data` or `Reason`: Status, StackId (an ARN up to about 200
 * bytes), RequestId, LogicalResourceId (up to 255), PhysicalResourceId (the cluster name and a
 * suffix, up to about 150), the log group line and JSON punctuation, with room to spare.
 */
export const RESPONSE_OVERHEAD = 1100;
/** The most the attributes of a success may take, serialized. */
export const DATA_BUDGET = RESPONSE_LIMIT - RESPONSE_OVERHEAD;
/** The most a failure's message may take. */
export const MESSAGE_BUDGET = 2400;

/** Bytes of a value once serialized into the response's JSON. */
export function serializedBytes(value: unknown): number {
  return Buffer.byteLength(JSON.stringify(value), 'utf8');
}

/** Cuts text to at most `budget` bytes of serialized JSON string (escapes counted), never inside a character. */
export function cutToSerialized(text: string, budget: number): string {
  let used = 2; // the quotes
  let out = '';
  for (const ch of text) {
    const size = serializedBytes(ch) - 2;
    if (used + size > budget) break;
    used += size;
    out += ch;
  }
  return out;
}

/**
 * Splits text into pieces whose serialized size is at most `budget` each, never inside a character;
 * joined again they give the text back.
 */
export function splitForResponse(text: string, budget: number): string[] {
  const pieces: string[] = [];
  let rest = text;
  while (rest.length > 0) {
    const piece = cutToSerialized(rest, budget);
    if (piece.length === 0) throw new Error(`splitForResponse: a budget of ${budget} bytes cannot hold one character`);
    pieces.push(piece);
    rest = rest.slice(piece.length);
  }
  return pieces;
}

/**
 * A message that fits the budget: itself, or its beginning with a pointer to the log, where the
 * whole of it is.
 */
export function boundedMessage(message: string, budget = MESSAGE_BUDGET, pointer = 'the handler\'s log has the whole message'): string {
  if (serializedBytes(message) <= budget) return message;
  const tail = ` … (${Buffer.byteLength(message, 'utf8')} bytes; ${pointer})`;
  const head = cutToSerialized(message, budget - (serializedBytes(tail) - 2));
  return `${head}${tail}`;
}

/**
 * The error the Lambda function throws: the message bounded, pointing to the log (where the whole
 * error was written), no URL's credentials, and no stack frames, which the Provider framework would append to `Reason`.
 */
export function responseSafeError(e: unknown, requestId?: string): Error {
  const message = withoutUrlCredentials(e instanceof Error ? `${e.name === 'Error' ? '' : `${e.name}: `}${e.message}` : String(e));
  const pointer = `the function's log has the whole message${requestId ? ` (request ${requestId})` : ''}`;
  const safe = new Error(boundedMessage(message, MESSAGE_BUDGET, pointer));
  // One line: the framework appends the stack lines after the first to Reason, which would repeat a multi-line message.
  safe.stack = safe.name;
  return safe;
}
