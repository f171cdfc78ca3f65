#version 330 core
// Ambient occlusion, pass 1: orthographic "depth" along one axis a, for the two opposite directions +a
// and -a at once. No depth test: the fragment writes (s, -s) into an RG32F layer with MAX blending, so
// the layer ends up holding the nearest surface seen from +a (max s) and from -a (max -s = -min s).
layout(location = 0) in vec3 a_position;
uniform mat4 u_light;   // rows: x, y (image plane, NDC) and s = a . (p - centre) / radius; w = 1

out float v_s;

void main() {
    vec4 p = u_light * vec4(a_position, 1.0);
    v_s = p.z;
    gl_Position = vec4(p.xy, 0.0, 1.0);
}
