#version 330 core
// Landmark visibility: one point per landmark, drawn into texel (id % width, id / width) of a small
// target. A landmark is visible when it lies in front of the camera, inside the image, and some
// super-sampled depth sample within one sample of its projection is empty or not nearer than the
// landmark by more than the tolerance.
layout(location = 0) in vec3 a_position;   // world

uniform mat4 u_view;
uniform mat4 u_projection;
uniform sampler2D u_depth;        // super-sampled camera-space z, 0 where empty
uniform float u_tolerance;        // world units
uniform ivec2 u_target_size;      // columns, rows of the result target

flat out float v_visible;

void main() {
    vec4 eye = u_view * vec4(a_position, 1.0);
    vec4 clip = u_projection * eye;
    float z = -eye.z;
    ivec2 size = textureSize(u_depth, 0);
    float visible = 0.0;
    if (z > 0.0 && clip.w > 0.0) {
        vec2 ndc = clip.xy / clip.w;
        vec2 pixel = (ndc * 0.5 + 0.5) * vec2(size);  // window coordinates, rows bottom-up
        ivec2 centre = ivec2(floor(pixel));
        if (pixel.x >= 0.0 && pixel.y >= 0.0 && pixel.x < float(size.x) && pixel.y < float(size.y)) {
            for (int dy = -1; dy <= 1; ++dy) {
                for (int dx = -1; dx <= 1; ++dx) {
                    ivec2 p = clamp(centre + ivec2(dx, dy), ivec2(0), size - 1);
                    float surface = texelFetch(u_depth, p, 0).r;
                    if (surface <= 0.0 || surface >= z - u_tolerance) visible = 1.0;
                }
            }
        }
    }
    v_visible = visible;
    int id = gl_VertexID;
    vec2 target = vec2(float(id % u_target_size.x) + 0.5, float(id / u_target_size.x) + 0.5);
    gl_Position = vec4(target / vec2(u_target_size) * 2.0 - 1.0, 0.0, 1.0);
    gl_PointSize = 1.0;
}
