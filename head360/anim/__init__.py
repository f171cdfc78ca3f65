"""Animation: keyframed timelines, ARKit coefficient tracks in and out (JSON, Live Link Face CSV),
video-driven performance capture and animation videos.

* ``interp``:   the interpolation used by timelines (monotone cubic, Catmull-Rom, yaw unwrapping, slerp).
* ``timeline``: :class:`Timeline` of keyframes (weights, codes, hairstyle, camera), saved as JSON.
* ``arkit_io``: :class:`WeightTrack` (per-frame 52 weights + head rotation) read/written as JSON or CSV.
* ``video``:    video -> mediapipe landmarks -> per-frame blendshape weights and head pose.
* ``render``:   a track or a timeline rendered with a generator checkpoint -> frames -> mp4 / gif.

Light at import time: numpy only; torch, mediapipe and the video readers load inside functions.
"""
