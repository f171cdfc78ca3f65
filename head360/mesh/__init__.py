"""The explicit mesh: template full head with UVs, identity variation, the 52 ARKit blendshapes and the
bilinear (Tucker) model ``V(s, b)`` that the generator, fitting and the studio use."""
