#version 330 core
// UV-space rasterization: each triangle is drawn at its texture coordinates, carrying four channels
// of per-corner attributes (several passes for more channels).
layout(location = 0) in vec2 a_uv;          // OpenGL convention, v up
layout(location = 1) in vec4 a_attribute;

noperspective out vec4 v_attribute;

void main() {
    v_attribute = a_attribute;
    gl_Position = vec4(a_uv * 2.0 - 1.0, 0.0, 1.0);
}
