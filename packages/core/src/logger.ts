import { AsyncLocalStorage } from 'node:async_hooks';
import { pino, type DestinationStream, type Logger, type LoggerOptions } from 'pino';

export type { Logger } from 'pino';

/** The request being served, so that every log line written while serving it carries its id. */
export const requestScope = new AsyncLocalStorage<{ requestId: string }>();

export interface LoggerSettings {
  level?: string;
  format?: 'json' | 'pretty';
  name?: string;
  /** Where JSON lines go (default: stdout). */
  destination?: DestinationStream;
}

/** A pino logger: JSON lines by default, pretty-printed for humans when asked (development). */
export function createLogger(settings: LoggerSettings = {}): Logger {
  const options: LoggerOptions = {
    name: settings.name ?? 'robian',
    level: settings.level ?? 'info',
    base: { pid: process.pid },
    timestamp: pino.stdTimeFunctions.isoTime,
    redact: {
      paths: ['req.headers.authorization', 'req.headers.cookie', '*.password', '*.token', '*.secret'],
      censor: '[redacted]',
    },
    serializers: { err: pino.stdSerializers.err },
    mixin: () => {
      const scope = requestScope.getStore();
      return scope ? { request_id: scope.requestId } : {};
    },
  };
  if (settings.format === 'pretty') {
    return pino({
      ...options,
      transport: { target: 'pino-pretty', options: { colorize: true, translateTime: 'SYS:HH:MM:ss.l', ignore: 'pid,hostname' } },
    });
  }
  return settings.destination ? pino(options, settings.destination) : pino(options);
}
