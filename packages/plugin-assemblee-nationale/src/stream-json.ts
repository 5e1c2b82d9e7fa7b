import { StringDecoder } from 'node:string_decoder';

/** The text of one record found in a JSON document read as a stream, or why the document is unusable. */
export type StreamedElement = { type: 'element'; text: string; index: number } | { type: 'error'; reason: string };

const OPEN_OBJECT = 0x7b; // {
const CLOSE_OBJECT = 0x7d; // }
const OPEN_ARRAY = 0x5b; // [
const CLOSE_ARRAY = 0x5d; // ]
const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const COLON = 0x3a;
const COMMA = 0x2c;

interface Frame {
  array: boolean;
  /** The key this container is the value of (for an array: the key of the array). */
  key: string | null;
  /** Objects: the last key read, and whether the next string is a key. */
  lastKey: string | null;
  expectingKey: boolean;
}

/**
 * Finds, without loading the document, every object that is the value of a key named `key` or an
 * element of an array that is (`{"reunions": {"reunion": [{…}, {…}]}}`, `{"reunion": {…}}`), and
 * yields its text, to be parsed on its own. Memory stays at one record plus one chunk. The scanner
 * does not validate the JSON around the records: each record's text is parsed by the caller, and
 * an unbalanced document is reported at the end.
 */
export async function* jsonElements(chunks: AsyncIterable<Buffer | string>, key: string, maxElementBytes: number): AsyncGenerator<StreamedElement> {
  const decoder = new StringDecoder('utf8');
  const stack: Frame[] = [];
  let inString = false;
  let escaped = false;
  let keyChars: string[] | null = null;
  // capture of one element
  let capturing = false;
  let captureDepth = 0;
  let parts: string[] = [];
  let partsLength = 0;
  let index = 0;
  let tooLarge = false;

  const process = function* (text: string): Generator<StreamedElement> {
    let captureStart = capturing ? 0 : -1;
    for (let i = 0; i < text.length; i++) {
      const c = text.charCodeAt(i);
      if (inString) {
        if (escaped) escaped = false;
        else if (c === BACKSLASH) escaped = true;
        else if (c === QUOTE) {
          inString = false;
          if (keyChars) {
            const frame = stack[stack.length - 1]!;
            frame.lastKey = keyChars.join('');
            frame.expectingKey = false;
            keyChars = null;
          }
        } else if (keyChars && keyChars.length < 256) keyChars.push(text[i]!);
        continue;
      }
      if (capturing) {
        if (c === QUOTE) inString = true;
        else if (c === OPEN_OBJECT || c === OPEN_ARRAY) captureDepth++;
        else if (c === CLOSE_OBJECT || c === CLOSE_ARRAY) {
          captureDepth--;
          if (captureDepth === 0) {
            const piece = text.slice(captureStart, i + 1);
            parts.push(piece);
            partsLength += piece.length;
            capturing = false;
            captureStart = -1;
            if (tooLarge || partsLength > maxElementBytes) yield { type: 'error', reason: `record ${index} of "${key}" is larger than the ${maxElementBytes} bytes accepted` };
            else yield { type: 'element', text: parts.join(''), index };
            index++;
            parts = [];
            partsLength = 0;
            tooLarge = false;
          }
        }
        continue;
      }
      if (c === QUOTE) {
        inString = true;
        const frame = stack[stack.length - 1];
        keyChars = frame && !frame.array && frame.expectingKey ? [] : null;
      } else if (c === OPEN_OBJECT || c === OPEN_ARRAY) {
        const parent = stack[stack.length - 1];
        const ownerKey = parent ? (parent.array ? parent.key : parent.lastKey) : null;
        if (c === OPEN_OBJECT && ownerKey === key) {
          capturing = true;
          captureDepth = 1;
          captureStart = i;
          continue;
        }
        stack.push({ array: c === OPEN_ARRAY, key: ownerKey, lastKey: null, expectingKey: c === OPEN_OBJECT });
      } else if (c === CLOSE_OBJECT || c === CLOSE_ARRAY) {
        stack.pop();
      } else if (c === COMMA) {
        const frame = stack[stack.length - 1];
        if (frame && !frame.array) frame.expectingKey = true;
      } else if (c === COLON) {
        // the value of frame.lastKey follows
      }
    }
    if (capturing && captureStart >= 0) {
      const piece = text.slice(captureStart);
      partsLength += piece.length;
      if (partsLength > maxElementBytes) {
        tooLarge = true;
        parts = [];
      } else parts.push(piece);
    }
  };

  for await (const chunk of chunks) {
    yield* process(typeof chunk === 'string' ? chunk : decoder.write(chunk));
  }
  yield* process(decoder.end());
  if (capturing || inString || stack.length > 0) yield { type: 'error', reason: 'the document ends in the middle of a value (truncated JSON)' };
}
