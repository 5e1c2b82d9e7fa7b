import { ProblemError, type AuthRegistry, type Principal } from '@robian/core';
import type { ParsedChannel } from './channels.ts';

export type SubscribeRefusal = { ok: false; code: string; message: string };
export type SubscribeDecision = { ok: true } | SubscribeRefusal;

/**
 * Resolves a user token through the `user` authentication scheme another plugin registers
 * (`ctx.auth.register('user', scheme)`). The scheme reads a Koa context; a WebSocket message is
 * not a request, so it gets a minimal one carrying the token as `Authorization: Bearer …`.
 */
export async function resolveUser(registry: AuthRegistry, token: string | undefined): Promise<{ ok: true; principal: Principal } | SubscribeRefusal> {
  const headers: Record<string, string> = token ? { authorization: `Bearer ${token}` } : {};
  const state: Record<string, unknown> = {};
  const request = { headers, header: headers, query: {}, method: 'GET', path: '/ws', url: '/ws' };
  const ctx = {
    ...request,
    request,
    state,
    get: (name: string) => headers[name.toLowerCase()] ?? '',
    cookies: { get: () => undefined },
    ip: '',
  };
  try {
    await registry.authenticate(ctx as never, 'user');
  } catch (err) {
    if (err instanceof ProblemError && err.status === 501) {
      return { ok: false, code: 'auth_unavailable', message: 'user channels need user accounts, and no plugin provides them on this server' };
    }
    return { ok: false, code: 'unauthorized', message: token ? 'the token is not valid' : 'a user channel needs the user\'s token ("token" field)' };
  }
  const principal = state.principal as Principal | undefined;
  if (!principal) return { ok: false, code: 'unauthorized', message: 'the token is not valid' };
  return { ok: true, principal };
}

/** Whether a connection may join a channel: public channels always, `user:{id}` with that user's token. */
export async function authorizeChannel(registry: AuthRegistry, channel: ParsedChannel, token: string | undefined): Promise<SubscribeDecision> {
  if (channel.kind !== 'user') return { ok: true };
  const user = await resolveUser(registry, token);
  if (!user.ok) return user;
  if (String(user.principal.id) !== channel.id) {
    return { ok: false, code: 'forbidden', message: `the token does not belong to user ${channel.id}` };
  }
  return { ok: true };
}

/** A bearer token from an Authorization header value. */
export function bearer(value: string | string[] | undefined): string | undefined {
  const header = Array.isArray(value) ? value[0] : value;
  const m = /^Bearer\s+(\S{1,4096})\s*$/i.exec(header ?? '');
  return m?.[1];
}
