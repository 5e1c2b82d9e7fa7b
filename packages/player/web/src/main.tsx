import { render } from 'preact';
import { Api } from './api.ts';
import { App } from './app.tsx';
import { Player } from './player.ts';
import './styles.css';

const api = new Api();
const player = new Player(api);
render(<App services={{ api, player }} />, document.getElementById('app')!);
// the listener's account exists before the first position is saved (created silently)
void api.account().catch(() => undefined);
void player.restore((id) => api.debate(id));
if ('serviceWorker' in navigator && location.protocol !== 'file:') {
  addEventListener('load', () => void navigator.serviceWorker.register('/sw.js').catch(() => undefined));
}
// for tests and the curious: the one audio element
(window as unknown as { robianPlayer: Player }).robianPlayer = player;
