"""Photo fitting: from one portrait to an animatable 360-degree head (Head360 supplement A.3).

Pieces, each usable on its own:

* ``image``      -- read a photo (any size, JPEG/PNG/WebP, RGB/RGBA/grayscale, EXIF orientation)
* ``landmarks``  -- mediapipe face-mesh landmarks (478 points) and the checks on the face found
* ``meshfit``    -- landmark -> mesh solver: shape code, blendshape weights, head pose, focal length
* ``calibrate``  -- the landmark table (template point <-> mediapipe index) measured on factory renders
* ``normalize``  -- warp the photo into the model's standard crop and camera
* ``segment``    -- face / hair / neck / background labels of the photo
* ``hairstyle``  -- the hairstyle classifier (trained on factory renders) and silhouette matching
* ``reference``  -- the photo's face composited into a render of a synthetic head
* ``invert``     -- GAN inversion of the neural texture (network frozen)
* ``pipeline``   -- ``fit_photo(image_or_path, checkpoint, steps, progress) -> FitResult``

``python main.py fit PHOTO --out subject.h360`` runs the pipeline.
"""
