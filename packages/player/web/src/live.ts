// Live extraction progress over socket.io (the host's /socket.io/), loaded only when a listener asks
// for audio that is not extracted yet, so the first screen does not carry the client.
export interface ExtractionEvent {
  type: string;
  progress: number | null;
  status: string | null;
}

export async function watchDebate(debateId: string, onEvent: (e: ExtractionEvent) => void): Promise<() => void> {
  const { io } = await import('socket.io-client');
  const socket = io({ transports: ['websocket'], reconnection: true });
  const channel = `debate:${debateId}`;
  socket.on('connect', () => {
    socket.emit('subscribe', { channel }, () => undefined);
  });
  for (const type of ['extraction_started', 'extraction_progress', 'extraction_completed', 'extraction_failed', 'extraction_cancelled']) {
    socket.on(type, (m: { data?: { debate_id?: unknown; progress?: unknown; status?: unknown } }) => {
      if (String(m.data?.debate_id) !== debateId) return;
      onEvent({ type, progress: typeof m.data?.progress === 'number' ? m.data.progress : null, status: typeof m.data?.status === 'string' ? m.data.status : null });
    });
  }
  return () => socket.close();
}
