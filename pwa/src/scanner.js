// Reads a checkpoint's QR code from the camera: the browser's BarcodeDetector where it
// has one, otherwise jsQR, loaded only now (a dynamic import keeps it out of the
// first-load script).
const FRAME_MS = 200; // a few decodes a second are plenty and spare the battery
const DECODE_SIDE = 640; // jsQR reads a downscaled frame: faster, and QR labels are big

// The code in what a label holds: "<base>/#/scan/<code>", or the bare code.
export function codeFrom(text) {
  const value = String(text || '').trim();
  const inUrl = value.match(/#\/scan\/([A-Za-z0-9._-]+)/);
  if (inUrl) return inUrl[1];
  return /^[0-9]+\.[A-Za-z0-9_-]{8,}$/.test(value) ? value : null;
}

async function detector() {
  if ('BarcodeDetector' in window) {
    try {
      const formats = await window.BarcodeDetector.getSupportedFormats();
      if (formats.includes('qr_code')) {
        const d = new window.BarcodeDetector({ formats: ['qr_code'] });
        return async (video) => ((await d.detect(video))[0] || {}).rawValue || null;
      }
    } catch {
      /* fall through to jsQR */
    }
  }
  const { default: jsQR } = await import('jsqr');
  const canvas = document.createElement('canvas');
  const ctx = canvas.getContext('2d', { willReadFrequently: true });
  return async (video) => {
    const scale = Math.min(1, DECODE_SIDE / Math.max(video.videoWidth, video.videoHeight));
    canvas.width = Math.round(video.videoWidth * scale);
    canvas.height = Math.round(video.videoHeight * scale);
    if (!canvas.width || !canvas.height) return null;
    ctx.drawImage(video, 0, 0, canvas.width, canvas.height);
    const image = ctx.getImageData(0, 0, canvas.width, canvas.height);
    const found = jsQR(image.data, image.width, image.height, { inversionAttempts: 'attemptBoth' });
    return found ? found.data : null;
  };
}

// Start the rear camera in `video`; onText(text) for each QR seen until stop().
// → stop (a function). Throws when there is no camera or permission is refused.
export async function startScanner(video, onText) {
  if (!navigator.mediaDevices || !navigator.mediaDevices.getUserMedia) throw new Error('no camera');
  const stream = await navigator.mediaDevices.getUserMedia({ video: { facingMode: { ideal: 'environment' } }, audio: false });
  let stopped = false;
  let timer = null;
  const stop = () => {
    stopped = true;
    clearTimeout(timer);
    stream.getTracks().forEach((track) => track.stop());
    video.srcObject = null;
  };
  try {
    video.srcObject = stream;
    video.setAttribute('playsinline', '');
    video.muted = true;
    await video.play();
    const detect = await detector();
    const tick = async () => {
      if (stopped) return;
      try {
        const text = video.readyState >= 2 ? await detect(video) : null;
        if (text && !stopped) onText(text);
      } catch {
        /* a frame that could not be read: the next one */
      }
      if (!stopped) timer = setTimeout(tick, FRAME_MS);
    };
    tick();
  } catch (err) {
    stop();
    throw err;
  }
  return stop;
}
