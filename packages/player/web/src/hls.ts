// Live sittings are an HLS relay (GET /api/debats/{id}/live). Browsers that play HLS natively get it
// as the audio's src; the others get hls.js's light build, loaded only when a live sitting is opened.
export async function attachHls(audio: HTMLAudioElement, src: string): Promise<{ destroy(): void }> {
  const { default: Hls } = await import('hls.js/light');
  if (!Hls.isSupported()) {
    audio.src = src;
    return { destroy() {} };
  }
  const hls = new Hls({ lowLatencyMode: false, enableWorker: false });
  hls.loadSource(src);
  hls.attachMedia(audio);
  return { destroy: () => hls.destroy() };
}
