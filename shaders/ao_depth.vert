#version 330 core
// Ambient occlusion, pass 1: depth maps of the mesh seen along many directions (orthographic).
layout(location = 0) in vec3 a_position;
uniform mat4 u_light;   // world -> light clip (orthographic)

void main() {
    gl_Position = u_light * vec4(a_position, 1.0);
}
