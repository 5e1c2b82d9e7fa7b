// hls.js ships the types of its full build only; the light build has the same API (without subtitles, EME…).
declare module 'hls.js/light' {
  export { default } from 'hls.js';
}
