#version 330 core
in float v_s;
layout(location = 0) out vec2 o_extent;   // blended with GL_MAX

void main() {
    o_extent = vec2(v_s, -v_s);
}
