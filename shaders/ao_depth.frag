#version 330 core
// Depth only; the colour output is unused.
out vec4 o_unused;

void main() {
    o_unused = vec4(0.0);
}
