// One way for API tests to call Settle over real HTTP: JSON in, status, parsed JSON (when the
// body is JSON), raw text and headers out.

export interface ApiCallOptions {
  headers?: Record<string, string>;
  body?: unknown;
  /** Sent as is, in place of a JSON body. */
  raw?: string;
}

export interface ApiReply {
  status: number;
  json: any;
  text: string;
  headers: Headers;
}

/** A `call(method, path, options)` against the server whose base URL `baseUrl()` gives at call time. */
export function apiCaller(baseUrl: () => string) {
  return async function call(method: string, path: string, options: ApiCallOptions = {}): Promise<ApiReply> {
    const response = await fetch(`${baseUrl()}${path}`, {
      method,
      headers: { ...(options.body !== undefined || options.raw !== undefined ? { 'content-type': 'application/json' } : {}), ...options.headers },
      body: options.raw ?? (options.body === undefined ? undefined : JSON.stringify(options.body)),
    });
    const text = await response.text();
    let json: any;
    try {
      json = JSON.parse(text);
    } catch {
      json = undefined; // not JSON (a checkout page, an empty body): the test reads `text`
    }
    return { status: response.status, json, text, headers: response.headers };
  };
}
