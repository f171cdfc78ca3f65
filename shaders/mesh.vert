#version 330 core
// Mesh pass: world-space attributes in, camera-space depth and world-space shading inputs out.
layout(location = 0) in vec3 a_position;   // world
layout(location = 1) in vec3 a_normal;     // world, area-weighted vertex normal
layout(location = 2) in vec2 a_uv;         // OpenGL convention: v = 0 at the bottom of the texture
layout(location = 3) in vec3 a_color;      // sRGB albedo in 0..1 (constant when the mesh has none)
layout(location = 4) in vec3 a_tangent;    // hair strand direction (zero when unknown)
layout(location = 5) in float a_occlusion; // ambient occlusion factor, 1 = open sky

uniform mat4 u_view;        // world -> OpenGL eye (looks down -z)
uniform mat4 u_projection;  // eye -> clip, agrees with head360.cameras.Camera.project

out vec3 v_world;
out vec3 v_normal;
out vec2 v_uv;
out vec3 v_color;           // linear albedo
out vec3 v_tangent;
out float v_occlusion;
out float v_view_depth;     // camera-space z along the view axis (world units)

vec3 srgb_to_linear(vec3 c) {
    return mix(c / 12.92, pow((c + 0.055) / 1.055, vec3(2.4)), step(0.04045, c));
}

void main() {
    vec4 eye = u_view * vec4(a_position, 1.0);
    v_world = a_position;
    v_normal = a_normal;
    v_uv = a_uv;
    v_color = srgb_to_linear(a_color);  // per vertex: cheaper than per fragment on llvmpipe
    v_tangent = a_tangent;
    v_occlusion = a_occlusion;
    v_view_depth = -eye.z;
    gl_Position = u_projection * eye;
}
