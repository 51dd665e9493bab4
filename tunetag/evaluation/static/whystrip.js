"use strict";
// A report's "why" strips: a click on a segment plays the song's row from that segment's start.
function playFrom(audio, start) {
  const seek = () => {
    audio.currentTime = start;
    audio.play();
  };
  if (audio.readyState > 0) seek();
  else {
    audio.addEventListener("loadedmetadata", seek, { once: true });
    audio.load();
  }
}

document.addEventListener("click", (ev) => {
  const segment = ev.target.closest(".why-seg");
  const audio = segment && segment.closest("tr").querySelector("audio");
  if (audio) playFrom(audio, Number(segment.dataset.start));
});
