#version 330 core
flat in float v_occlusion;
layout(location = 0) out float o_occlusion;

void main() {
    o_occlusion = v_occlusion;
}
