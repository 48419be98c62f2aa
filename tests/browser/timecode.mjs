// A capture-time code painted into the test encoder's picture and read back from a canvas, for
// glass-to-glass latency by picture (no OCR, no QR library): a row of 32 black or white blocks
// near the bottom of the frame, the Gray code of the Unix time in milliseconds modulo 2^32, most
// significant bit on the left. ffmpeg paints it with one `drawbox` per bit, each enabled by an
// expression of `time(0)` (the wall clock as the frame is filtered, before encoding): each box
// reads the clock on its own, and with a Gray code a millisecond tick between two reads changes
// at most one bit, so a frame's code is always one of the two instants. 18-pixel blocks on a
// black bar survive x264 at 360p and the ladder's 240p rung (sampled at their centres, scaled).

export const BITS = 32;
// The layout on the 640x360 source: blocks of BLOCK pixels from (X0, Y0).
const WIDTH = 640;
const HEIGHT = 360;
const BLOCK = 18;
const X0 = (WIDTH - BITS * BLOCK) / 2;
const Y0 = HEIGHT - BLOCK - 10;

/** The ffmpeg video filters (after the source) that paint the code on a 640x360 picture. */
export function timeCodeFilters() {
  const filters = [`drawbox=x=${X0 - 4}:y=${Y0 - 4}:w=${BITS * BLOCK + 8}:h=${BLOCK + 8}:color=black:t=fill`];
  const now = 'mod(floor(time(0)*1000),4294967296)';
  for (let bit = BITS - 1; bit >= 0; bit -= 1) {
    const x = X0 + (BITS - 1 - bit) * BLOCK;
    // Gray code bit `bit` of v: floor((v + 2^bit) / 2^(bit+1)) mod 2.
    const enable = `eq(mod(floor((${now}+${2 ** bit})/${2 ** (bit + 1)}),2),1)`;
    filters.push(`drawbox=x=${x}:y=${Y0}:w=${BLOCK}:h=${BLOCK}:color=white:t=fill:enable='${enable}'`);
  }
  return filters.join(',');
}

/**
 * ffmpeg arguments that publish a 640x360 test pattern at 25 fps with a tone and the code, in
 * real time, to `url` as `format` (`flv` for RTMP, `mpegts` for SRT), as a live encoder would:
 * x264 zerolatency, keyframes every 2 s.
 */
export function encoderArgs(url, format, seconds = 600) {
  return [
    '-nostdin', '-hide_banner', '-loglevel', 'error', '-re',
    '-f', 'lavfi', '-i', `testsrc2=size=${WIDTH}x${HEIGHT}:rate=25,${timeCodeFilters()}`,
    '-f', 'lavfi', '-i', 'sine=frequency=440:sample_rate=48000',
    '-c:v', 'libx264', '-preset', 'veryfast', '-tune', 'zerolatency', '-pix_fmt', 'yuv420p',
    '-g', '50', '-b:v', '1500k', '-c:a', 'aac', '-b:a', '96k',
    '-t', String(seconds), '-f', format, url,
  ];
}

/**
 * The decoder, as the source of a function to run in the page: `readTimeCode(luma, now)` takes
 * `luma(x, y)` (0-255 at a point given in source pixels, 640x360) and the time now (ms), and
 * returns the capture time (ms) or null when the code is implausible (more than a minute away).
 */
export const readTimeCodeSource = `
function readTimeCode(luma, now) {
  let binary = 0;
  let previous = 0;
  for (let i = 0; i < ${BITS}; i += 1) {
    const gray = luma(${X0} + i * ${BLOCK} + ${BLOCK / 2}, ${Y0} + ${BLOCK / 2}) > 128 ? 1 : 0;
    previous ^= gray;
    binary = binary * 2 + previous;
  }
  const wrap = 4294967296;
  const behind = (((now - binary) % wrap) + wrap) % wrap;
  return behind < 60000 ? now - behind : null;
}`;
