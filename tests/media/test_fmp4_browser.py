"""Chromium's Media Source Extensions play our fMP4, one fragment per frame (live view path:
the live view's own ``FragmentTimeline.frame``)."""

from __future__ import annotations

import base64

import pytest
from playwright.async_api import async_playwright

from vigilcam.media.fmp4 import FragmentTimeline, init_segment

from .test_fmp4 import encode

pytestmark = [pytest.mark.peer, pytest.mark.timeout(60)]

PAGE = """<video id=v muted></video><script>
async function play(codec, chunks) {
  const v = document.getElementById('v');
  const type = 'video/mp4; codecs="' + codec + '"';
  if (!MediaSource.isTypeSupported(type)) return {supported: false};
  const ms = new MediaSource();
  v.src = URL.createObjectURL(ms);
  await new Promise(r => ms.addEventListener('sourceopen', r, {once: true}));
  const sb = ms.addSourceBuffer(type);
  for (const c of chunks) {
    sb.appendBuffer(Uint8Array.from(atob(c), x => x.charCodeAt(0)));
    await new Promise((ok, bad) => {
      sb.addEventListener('updateend', ok, {once: true});
      sb.addEventListener('error', bad, {once: true});
    });
  }
  ms.endOfStream();
  await v.play();
  await new Promise(r => v.addEventListener('ended', r, {once: true}));
  return {supported: true, end: v.buffered.end(0), w: v.videoWidth, h: v.videoHeight,
          frames: v.getVideoPlaybackQuality().totalVideoFrames, error: v.error && v.error.message};
}
</script>"""


async def test_chromium_mse_plays_live_fragments() -> None:
    info, packets = encode(30, 640, 360, 15)
    timeline = FragmentTimeline(packets[0].dts)
    chunks = [init_segment(info)] + [timeline.frame(p) for p in packets]
    async with async_playwright() as pw:
        browser = await pw.chromium.launch(
            executable_path="/usr/bin/chromium", args=["--autoplay-policy=no-user-gesture-required"]
        )
        try:
            page = await browser.new_page()
            await page.set_content(PAGE)
            result = await page.evaluate(
                "([c, ch]) => play(c, ch)",
                [info.codec_string, [base64.b64encode(c).decode() for c in chunks]],
            )
        finally:
            await browser.close()
    assert result["supported"], info.codec_string
    assert result["error"] is None
    assert (result["w"], result["h"]) == (640, 360)
    assert result["frames"] == 30
    assert result["end"] == pytest.approx(2.0, abs=0.01)
