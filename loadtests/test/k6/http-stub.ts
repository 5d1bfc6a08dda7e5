/** Stand-in for k6/http: records each request and answers with the state's `respond`. */
import { k6State, type StubRequest } from './state.ts';

type Params = StubRequest['params'];

function request(method: string, url: string, body: string | null | undefined, params: Params = {}) {
  const s = k6State();
  if (s.phase === 'init') throw new Error('k6 does not allow HTTP requests in the init context');
  const req: StubRequest = { method, url, body: body ?? null, params, tags: { ...(params.tags ?? {}) } };
  s.requests.push(req);
  const r = s.respond(req);
  const resBody = r.body ?? '';
  return {
    status: r.status,
    body: resBody,
    error: r.error ?? '',
    error_code: r.errorCode ?? 0,
    timings: { duration: r.durationMs ?? 1 },
    request: { method, url, body: body ?? '' },
    json() {
      return JSON.parse(resBody) as unknown;
    },
  };
}

export const get = (url: string, params?: Params) => request('GET', url, null, params);
export const post = (url: string, body?: string | null, params?: Params) => request('POST', url, body, params);
export const put = (url: string, body?: string | null, params?: Params) => request('PUT', url, body, params);
export const del = (url: string, body?: string | null, params?: Params) => request('DELETE', url, body, params);

export default { get, post, put, del, request: (method: string, url: string, body?: string | null, params?: Params) => request(method, url, body, params) };
