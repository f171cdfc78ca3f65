#version 330 core
// Mesh pass: linear-light shading with lights fixed in the world (every view sees the same lit head),
// one label per face, camera-space depth. Render targets are super-sampled; resolve.frag averages them.
//
// Compiled once per combination of these defines (set by head360/gl/renderer.py):
//   MATERIAL        0 skin, 1 hair, 2 eye, 3 teeth, 4 cavity, 5 plain (head360.gl.renderer.MATERIALS)
//   HAS_TEXTURE     0/1: multiply the albedo by u_texture at v_uv
//   HAS_FACE_LABEL  0/1: per-triangle labels from u_face_label (else u_label)
//   CUTOUT          0/1: texture alpha < 0.5 is a hole (hair cards); without it there is no discard,
//                   so early depth testing stays on
#define SKIN 0
#define HAIR 1
#define EYE 2
#define TEETH 3
#define CAVITY 4
#define PLAIN 5
#ifndef MATERIAL
#define MATERIAL PLAIN
#endif
#ifndef HAS_TEXTURE
#define HAS_TEXTURE 0
#endif
#ifndef HAS_FACE_LABEL
#define HAS_FACE_LABEL 0
#endif
#ifndef CUTOUT
#define CUTOUT 0
#endif

in vec3 v_world;
in vec3 v_normal;
in vec2 v_uv;
in vec3 v_color;      // linear albedo (vertex colour or base colour)
in vec3 v_tangent;
in float v_occlusion;
in float v_view_depth;

layout(location = 0) out vec4 o_color;  // linear RGB, alpha 1 = covered
layout(location = 1) out uint o_label;  // head360.labels.Label
layout(location = 2) out float o_depth; // camera-space z

uniform vec3 u_camera_position;      // world
uniform sampler2D u_texture;         // sRGB texture: sampling returns linear values
uniform usamplerBuffer u_face_label; // one label per triangle, indexed by gl_PrimitiveID
uniform uint u_label;

// Lights, fixed in the world (directions point towards the light). The key comes from the front, upper
// left of the image; a fill from the other side; two back lights so the back and the sides of the head
// are lit for the 360-degree views; a sky/ground hemisphere for the ambient term.
const vec3 KEY_DIR = normalize(vec3(0.42, 0.55, 0.72));
const vec3 KEY_RGB = vec3(1.10, 1.05, 0.98);
const vec3 FILL_DIR = normalize(vec3(-0.70, 0.20, 0.45));
const vec3 FILL_RGB = vec3(0.36, 0.38, 0.42);
const vec3 BACK_LEFT_DIR = normalize(vec3(0.65, 0.45, -0.62));
const vec3 BACK_LEFT_RGB = vec3(0.55, 0.53, 0.50);
const vec3 BACK_RIGHT_DIR = normalize(vec3(-0.70, 0.25, -0.66));
const vec3 BACK_RIGHT_RGB = vec3(0.34, 0.36, 0.40);
const vec3 SKY_RGB = vec3(0.30, 0.32, 0.35);
const vec3 GROUND_RGB = vec3(0.13, 0.12, 0.11);

// Soft shoulder instead of hard clipping: identity below 0.8, then approaches 1.
vec3 tone_map(vec3 c) {
    vec3 over = max(c - 0.8, 0.0);
    return min(c, 0.8) + 0.2 * (1.0 - exp(-over / 0.2));
}

// Wrap-around diffuse: light reaches past the terminator (a cheap subsurface-scattering look).
float wrapped(vec3 n, vec3 l, float wrap) {
    return max((dot(n, l) + wrap) / (1.0 + wrap), 0.0);
}

// Kajiya-Kay specular along the strand direction t.
float kajiya_kay(vec3 t, vec3 h, float exponent) {
    float th = dot(t, h);
    return pow(sqrt(max(1.0 - th * th, 0.0)), exponent);
}

// Diffuse radiance from one light of colour rgb in direction l (unit vectors, world space).
vec3 diffuse_term(vec3 n, vec3 albedo, vec3 l, vec3 rgb) {
    float ndl = max(dot(n, l), 0.0);
#if MATERIAL == SKIN
    // light that wraps past the terminator comes out reddish (scattered through the skin)
    float w = wrapped(n, l, 0.45);
    return rgb * albedo * (ndl + (w - ndl) * vec3(1.0, 0.55, 0.45));
#elif MATERIAL == HAIR
    return rgb * albedo * wrapped(n, l, 0.6) * 0.9;
#elif MATERIAL == EYE
    return rgb * albedo * wrapped(n, l, 0.2);
#elif MATERIAL == TEETH
    return rgb * albedo * wrapped(n, l, 0.3);
#elif MATERIAL == CAVITY
    return rgb * albedo * ndl * 0.15;
#else
    return rgb * albedo * ndl;
#endif
}

// The mild view-dependent part (a radiance field without view direction must still be able to
// reproduce the images), from the key light and the brighter back light (so that hair seen from
// behind still shows its sheen).
vec3 specular_term(vec3 n, vec3 v, vec3 t, vec3 albedo, vec3 l, vec3 rgb) {
    vec3 h = normalize(l + v);
    float ndl = max(dot(n, l), 0.0);
#if MATERIAL == SKIN
    return rgb * (pow(max(dot(n, h), 0.0), 20.0) * 0.05 * ndl);  // a faint sheen
#elif MATERIAL == HAIR
    float w = wrapped(n, l, 0.6);
    // narrow and faint: dark hair must stay dark (a broad highlight turns black hair grey), and the
    // neural field, which has no view direction, cannot reproduce a strong moving highlight
    float primary = kajiya_kay(t, h, 120.0) * 0.05;
    float secondary = kajiya_kay(t, normalize(h + 0.25 * n), 30.0) * 0.05;
    return rgb * (vec3(primary) + secondary * albedo) * w;
#elif MATERIAL == EYE
    return rgb * (pow(max(dot(n, h), 0.0), 180.0) * 0.6 * step(0.0, dot(n, l)));
#elif MATERIAL == TEETH
    return rgb * (pow(max(dot(n, h), 0.0), 40.0) * 0.15 * ndl);
#else
    return vec3(0.0);
#endif
}

uint face_label() {
#if HAS_FACE_LABEL
    return texelFetch(u_face_label, gl_PrimitiveID).r;
#else
    return u_label;
#endif
}

void main() {
    vec3 albedo = v_color;
#if HAS_TEXTURE
    vec4 texel = texture(u_texture, v_uv);
#if CUTOUT
    if (texel.a < 0.5) discard;
#endif
    albedo *= texel.rgb;
#endif
    o_label = face_label();
    o_depth = v_view_depth;

    vec3 n = normalize(v_normal);
    vec3 v = normalize(u_camera_position - v_world);
    if (!gl_FrontFacing) {
#if MATERIAL == HAIR
        n = -n;  // hair cards and strands are lit from both sides
#else
        // Looking through an opening at the inside of a shell: dark, never lit skin.
        o_color = vec4(albedo * 0.025, 1.0);
        return;
#endif
    }
    vec3 t = vec3(0.0);
#if MATERIAL == HAIR
    t = v_tangent;
    if (dot(t, t) < 1e-12) t = vec3(0.0, -1.0, 0.0);  // hair falls down unless told otherwise
    t = t - n * dot(n, t);
    t = dot(t, t) > 1e-12 ? normalize(t) : vec3(1.0, 0.0, 0.0);
#endif

    float ao = clamp(v_occlusion, 0.0, 1.0);
    vec3 color = albedo * mix(GROUND_RGB, SKY_RGB, 0.5 + 0.5 * n.y) * ao;
    float direct_ao = mix(1.0, ao, 0.6);
    vec3 direct = diffuse_term(n, albedo, KEY_DIR, KEY_RGB) + diffuse_term(n, albedo, FILL_DIR, FILL_RGB) +
                  diffuse_term(n, albedo, BACK_LEFT_DIR, BACK_LEFT_RGB) +
                  diffuse_term(n, albedo, BACK_RIGHT_DIR, BACK_RIGHT_RGB) +
                  specular_term(n, v, t, albedo, KEY_DIR, KEY_RGB) +
                  specular_term(n, v, t, albedo, BACK_LEFT_DIR, BACK_LEFT_RGB);
    color += direct_ao * direct;
#if MATERIAL == CAVITY
    color += albedo * 0.08 * ao;
#endif
    o_color = vec4(tone_map(color), 1.0);
}
