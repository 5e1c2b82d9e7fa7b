/**
 * Renditions: the formats and qualities a debate's audio can be extracted to, with their file
 * extension, media type and the FFmpeg codec arguments that produce them.
 */

export const FORMATS = ['mp3', 'aac', 'opus', 'wav'] as const;
export type AudioFormat = (typeof FORMATS)[number];

export interface Rendition {
  format: AudioFormat;
  /** `64k`…`320k` for mp3, `source` (stream copy when the source is AAC) or a bitrate for aac, a bitrate for opus, `pcm` for wav. */
  quality: string;
}

export const MP3_BITRATES = ['64k', '96k', '128k', '160k', '192k', '256k', '320k'] as const;
export const AAC_QUALITIES = ['source', '64k', '96k', '128k', '192k'] as const;
export const OPUS_BITRATES = ['16k', '24k', '32k', '48k', '64k', '96k', '128k'] as const;
export const WAV_QUALITIES = ['pcm'] as const;

export const QUALITIES: Record<AudioFormat, readonly string[]> = {
  mp3: MP3_BITRATES,
  aac: AAC_QUALITIES,
  opus: OPUS_BITRATES,
  wav: WAV_QUALITIES,
};

/** The quality used when a request names only the format. */
export function defaultQuality(format: AudioFormat, configuredBitrate = '128k'): string {
  switch (format) {
    case 'mp3':
      return (MP3_BITRATES as readonly string[]).includes(configuredBitrate) ? configuredBitrate : '128k';
    case 'aac':
      return 'source';
    case 'opus':
      return '32k';
    case 'wav':
      return 'pcm';
  }
}

/** Normalises a quality (`128`, `128K`, `128kbps` → `128k`). Returns undefined when it is not valid for the format. */
export function normaliseQuality(format: AudioFormat, quality: string): string | undefined {
  const q = quality.trim().toLowerCase().replace(/kbps$|kb\/s$/, 'k');
  const withK = /^\d+$/.test(q) ? `${q}k` : q;
  return QUALITIES[format].includes(withK) ? withK : undefined;
}

export const EXTENSIONS: Record<AudioFormat, string> = { mp3: 'mp3', aac: 'm4a', opus: 'opus', wav: 'wav' };
export const MIME_TYPES: Record<AudioFormat, string> = { mp3: 'audio/mpeg', aac: 'audio/mp4', opus: 'audio/ogg; codecs=opus', wav: 'audio/wav' };

/** The master: the source's AAC kept by stream copy, from which the other renditions are derived. */
export const MASTER: Rendition = { format: 'aac', quality: 'source' };

export const isMaster = (r: Rendition): boolean => r.format === MASTER.format && r.quality === MASTER.quality;

/** Storage key of a rendition: built from the debate id and the rendition only, never from user text. */
export function storageKey(debateId: number, r: Rendition): string {
  if (!Number.isSafeInteger(debateId) || debateId <= 0) throw new Error(`invalid debate id ${debateId}`);
  if (!FORMATS.includes(r.format) || !QUALITIES[r.format].includes(r.quality)) throw new Error(`invalid rendition ${r.format}/${r.quality}`);
  return `${debateId}/${r.format}-${r.quality}.${EXTENSIONS[r.format]}`;
}

/** FFmpeg output arguments (codec + muxer) for a rendition. `copy` keeps the input's audio as is. */
export function outputArgs(r: Rendition, copy: boolean): string[] {
  const audio = ['-vn', '-sn', '-dn', '-map', '0:a:0'];
  switch (r.format) {
    case 'aac':
      if (copy) return [...audio, '-c:a', 'copy', '-movflags', '+faststart', '-f', 'mp4'];
      return [...audio, '-c:a', 'aac', '-b:a', r.quality === 'source' ? '128k' : r.quality, '-movflags', '+faststart', '-f', 'mp4'];
    case 'mp3':
      if (copy) return [...audio, '-c:a', 'copy', '-f', 'mp3'];
      return [...audio, '-c:a', 'libmp3lame', '-b:a', r.quality, '-f', 'mp3'];
    case 'opus': {
      const kbps = Number.parseInt(r.quality, 10);
      // "voip" tunes libopus for intelligible speech at low bitrates
      return [...audio, '-c:a', 'libopus', '-b:a', r.quality, '-application', kbps <= 32 ? 'voip' : 'audio', '-f', 'ogg'];
    }
    case 'wav':
      return [...audio, '-c:a', 'pcm_s16le', '-f', 'wav'];
  }
}
