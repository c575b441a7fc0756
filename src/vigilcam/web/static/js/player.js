// The one MSE player: fragmented MP4 (live over WSS, recordings over HTTPS) into a <video>
// through Media Source Extensions (TAICS 5.5.2.3: video reaches the browser only over TLS).
//
// Invariants:
// - One SourceBuffer per player, in "segments" mode; chunks are appended in arrival order, one
//   at a time: `pump()` is the only caller of appendBuffer and runs again on every updateend.
//   Chunks that arrive before the buffer exists wait in the queue.
// - Live: the picture stays at the live edge (more than 0.5 s behind skips ahead, a paused
//   video is resumed); the queue is bounded: past 120 chunks it keeps the first and the last 59.
//   A failed append drops the queue: the stream goes on with the next fragments.
// - Playback: the picture starts at `startAt` (seconds into the stream) once data past it is
//   buffered, then `onStart()` runs once; after `finish()` the stream is ended when the queue
//   has drained. A failed append (buffer full) frees what was watched more than 10 s ago.
// - After `close()` nothing more is appended.
// Played data is freed by the browser itself (the MSE coded frame eviction before an append).

export class MsePlayer {
  constructor(video, { live = false, startAt = null, onStart = null } = {}) {
    this.video = video;
    this.live = live;
    this.startAt = startAt;
    this.onStart = onStart;
    this.queue = [];
    this.ms = null;
    this.sb = null;
    this.ended = false;
    this.closed = false;
  }

  // Attach a new MediaSource to the video; resolves once the SourceBuffer for `codec` exists.
  open(codec) {
    const ms = new MediaSource();
    this.ms = ms;
    const url = URL.createObjectURL(ms);
    this.video.src = url;
    return new Promise((resolve) => {
      ms.addEventListener("sourceopen", () => {
        URL.revokeObjectURL(url);
        if (this.closed) { resolve(); return; }
        this.sb = ms.addSourceBuffer('video/mp4; codecs="' + codec + '"');
        this.sb.mode = "segments";
        this.sb.addEventListener("updateend", () => this.pump());
        this.pump();
        resolve();
      }, { once: true });
    });
  }

  push(chunk) {
    this.queue.push(chunk);
    if (this.live && this.queue.length > 120) this.queue.splice(1, this.queue.length - 60);
    this.pump();
  }

  // The source has no more data: end the stream once the queue has drained.
  finish() {
    this.ended = true;
    this.pump();
  }

  close() { this.closed = true; }

  get queued() { return this.queue.length; }

  // Seconds buffered ahead of the playing position.
  bufferedAhead() {
    const b = this.video.buffered;
    return b.length ? b.end(b.length - 1) - this.video.currentTime : 0;
  }

  pump() {
    const sb = this.sb;
    if (this.closed || !sb || sb.updating) return;
    if (this.startAt !== null) this.startOnceBuffered();
    if (this.queue.length) {
      this.appendNext();
      return;
    }
    if (this.ended && this.ms.readyState === "open") {
      try { this.ms.endOfStream(); } catch (e) { /* already ended */ }
    }
  }

  appendNext() {
    const video = this.video;
    try {
      this.sb.appendBuffer(this.queue.shift());
    } catch (e) {
      if (this.live) {
        this.queue = [];
      } else if (video.currentTime > 20) {
        try { this.sb.remove(0, video.currentTime - 10); } catch (x) { /* busy */ }
      }
      return;
    }
    if (this.live) this.followLiveEdge();
  }

  followLiveEdge() {
    const video = this.video;
    const b = video.buffered;
    if (!b.length) return;
    const end = b.end(b.length - 1);
    if (end - video.currentTime > 0.5) video.currentTime = end - 0.05;
    if (video.paused) video.play().catch(() => {});
  }

  startOnceBuffered() {
    const video = this.video;
    const b = video.buffered;
    if (!b.length || b.end(b.length - 1) <= this.startAt) return;
    video.currentTime = Math.max(b.start(0), this.startAt);
    this.startAt = null;
    video.play().catch(() => {});
    if (this.onStart) this.onStart();
  }
}

// The codec string ("avc1.PPCCLL") from the avcC box of an fMP4 init segment, or null.
export function avcCodec(bytes) {
  for (let i = 0; i + 8 < bytes.length; i++) {
    if (bytes[i] === 0x61 && bytes[i + 1] === 0x76 && bytes[i + 2] === 0x63 && bytes[i + 3] === 0x43) {
      const hex = (x) => x.toString(16).padStart(2, "0");
      return "avc1." + hex(bytes[i + 5]) + hex(bytes[i + 6]) + hex(bytes[i + 7]);
    }
  }
  return null;
}
