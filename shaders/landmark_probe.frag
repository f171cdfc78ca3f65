#version 330 core
flat in float v_visible;
layout(location = 0) out float o_visible;

void main() {
    o_visible = v_visible;
}
