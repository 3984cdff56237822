/**
 * JSON as DLRN's Python writes it where a client may notice: promotion timestamps are floats
 * (`1441901490.0`), which JSON.stringify cannot express for a whole number. A value wrapped in
 * `float()` is written with its fraction.
 */
const TOKEN = '@@dlrn-float@@';

class JsonFloat {
  readonly value: number;
  constructor(value: number) {
    this.value = value;
  }
  toJSON(): string {
    return `${TOKEN}${this.value}${TOKEN}`;
  }
}

export const float = (value: number): JsonFloat => new JsonFloat(value);

const PATTERN = new RegExp(`"${TOKEN}(-?[0-9.e+]+)${TOKEN}"`, 'g');

/** JSON text of `body`, floats written as floats, and whether there were any. */
const serialize = (body: unknown): { text: string; floats: boolean } => {
  let floats = false;
  const text = JSON.stringify(body).replace(PATTERN, (_m, n: string) => {
    floats = true;
    return /[.e]/.test(n) ? n : `${n}.0`;
  });
  return { text, floats };
};

/** The value with every float unwrapped to a plain number (for payloads that are not responses). */
export const plain = <T>(value: T): T => JSON.parse(serialize(value).text) as T;

/** A body Koa would write as JSON: an object that is neither a buffer nor a stream. */
export const isJsonBody = (body: unknown): body is object =>
  body !== null &&
  typeof body === 'object' &&
  !Buffer.isBuffer(body) &&
  typeof (body as { pipe?: unknown }).pipe !== 'function';

/** The JSON text of a response body, floats written as floats. */
export const jsonText = (body: object): string => serialize(body).text;

/**
 * Koa middleware: a JSON body is serialized here, once (Koa would write it again after the
 * float check), floats as floats.
 */
export const floatJson = async (
  ctx: { body: unknown; type: string },
  next: () => Promise<unknown>,
): Promise<void> => {
  await next();
  const body = ctx.body;
  if (!isJsonBody(body)) return;
  ctx.type = 'application/json';
  ctx.body = jsonText(body);
};
