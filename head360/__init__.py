"""Head360: a parametric 360-degree full-head model (library; never imports the GUI).

Conventions used everywhere in the project (see ``head360.cameras`` for the camera ones):

* World frame: right-handed, +y up, the face looks along +z, +x points to the subject's left.
* Units: 1 world unit = 10 cm. The head sits in the cube ``HEAD_BOX`` = [-1.6, 1.6]^3 around the
  origin (between the ears, a little below eye level); the neck is cut at the bottom of the box.
* ARKit "Left" means the subject's own left side (+x), which appears on the right of a front view.
"""

__version__ = "0.1.0"
