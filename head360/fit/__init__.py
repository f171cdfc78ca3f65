"""Photo fitting: from one portrait to an animatable 360-degree head (Head360 supplement A.3).

Pieces, each usable on its own:

* ``image``      -- read a photo (any size, JPEG/PNG/WebP, RGB/RGBA/grayscale, EXIF orientation)
* ``landmarks``  -- mediapipe face-mesh landmarks (478 points) and the checks on the face found
* ``meshfit``    -- landmark -> mesh solver: shape code, blendshape weights, head pose, focal length
* ``calibrate``  -- the landmark table (template vertex <-> mediapipe index) measured on renders

The entry point is ``head360.fit.pipeline.fit_photo`` (``python main.py fit PHOTO``).
"""
