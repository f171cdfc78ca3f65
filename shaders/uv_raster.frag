#version 330 core
noperspective in vec4 v_attribute;
layout(location = 0) out vec4 o_attribute;
layout(location = 1) out float o_coverage;

void main() {
    o_attribute = v_attribute;
    o_coverage = 1.0;
}
