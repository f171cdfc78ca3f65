#version 330 core
// Diagnostic: draw each point as one GL point carrying its index, through the same matrices as the
// mesh pass, so tests can see where the GL pipeline itself puts a world point.
layout(location = 0) in vec3 a_position;
uniform mat4 u_view;
uniform mat4 u_projection;
flat out int v_id;

void main() {
    v_id = gl_VertexID;
    gl_Position = u_projection * (u_view * vec4(a_position, 1.0));
    gl_PointSize = 1.0;
}
