"""Exact ray casting of sphere-mesh primitives, planes, boxes and cylinders into a depth buffer (numpy only).

The camera sits at the origin of the camera frame (x right, y down, z forward, mm). The ray through pixel (i, j)
has direction d = ((i - cx)/fx, (j - cy)/fy, 1), so a hit at ray parameter t has depth z = t. Each primitive is
intersected only inside its projected bounding box; the buffer keeps the nearest hit and a label per pixel.

A round cone (convex hull of two spheres) is the union of its two spheres and the truncated cone that touches
both; a sphere-swept triangle (hull of three spheres) adds its two tangent-plane facets. The first hit of a
convex hull is the nearest hit over those pieces, so spheres, cone sides and facets are cast separately (shared
spheres once) and the buffer's minimum is exact.

Speed: a numpy call on a few thousand pixels costs about as much as its fixed overhead, so per-primitive
constants are computed for all primitives at once and the per-pixel work is a short list of whole-window
operations, each linear form v . (a, b, 1) costing one full-size operation.
"""
from __future__ import annotations

import numpy as np

from app.camera import Intrinsics, ray_slopes, slopes_to_px

NEAR_MM = 1.0
DTYPE = np.float32  # depth buffer and per-pixel maths; the formulas below avoid cancellation of large terms


class DepthCanvas:
    """A depth buffer (float32 mm, inf = nothing hit) and a uint8 label buffer for one camera."""

    def __init__(self, intr: Intrinsics) -> None:
        self.intr = intr
        self.width, self.height = intr.width, intr.height
        ray_x, ray_y = ray_slopes(np.arange(intr.width), np.arange(intr.height), intr, np.float64)
        self.ray_x, self.ray_y = ray_x.astype(DTYPE), ray_y.astype(DTYPE)
        self.depth = np.full((intr.height, intr.width), np.inf, dtype=DTYPE)
        self.label = np.zeros((intr.height, intr.width), np.uint8)
        self.ray_x2 = self.ray_x ** 2 + 1.0
        self.ray_y2 = self.ray_y ** 2

    # ---- windows ----
    def sphere_windows(self, spheres: np.ndarray) -> np.ndarray:
        """(N, 4) int windows (u0, u1, v0, v1), end-exclusive and NOT clipped, covering each sphere's bounding
        cube. A sphere reaching behind the near plane gets the whole image (a primitive joining it to a visible
        sphere may cross the image anywhere)."""
        c, r = spheres[:, :3], spheres[:, 3:4]
        lo, hi = c - r, c + r
        z_near = np.maximum(lo[:, 2], NEAR_MM)
        z_far = np.maximum(hi[:, 2], NEAR_MM)
        xs = np.stack([lo[:, 0] / z_near, lo[:, 0] / z_far, hi[:, 0] / z_near, hi[:, 0] / z_far])
        ys = np.stack([lo[:, 1] / z_near, lo[:, 1] / z_far, hi[:, 1] / z_near, hi[:, 1] / z_far])
        u_lo, v_lo = slopes_to_px(xs.min(0), ys.min(0), self.intr)
        u_hi, v_hi = slopes_to_px(xs.max(0), ys.max(0), self.intr)
        win = np.stack([np.ceil(u_lo), np.floor(u_hi) + 1, np.ceil(v_lo), np.floor(v_hi) + 1], axis=1)
        win = np.clip(win, -1e6, 1e6).astype(np.int64)
        behind = lo[:, 2] <= NEAR_MM
        win[behind] = (0, self.width, 0, self.height)
        return win

    def clip_windows(self, win: np.ndarray) -> list[tuple[int, int, int, int] | None]:
        w = np.asarray(win).copy()
        w[:, 0:2] = np.clip(w[:, 0:2], 0, self.width)
        w[:, 2:4] = np.clip(w[:, 2:4], 0, self.height)
        return [None if (q[0] >= q[1] or q[2] >= q[3]) else tuple(q) for q in w.tolist()]

    @staticmethod
    def union_windows(win: np.ndarray, groups: np.ndarray) -> np.ndarray:
        """Window of each group of sphere windows: groups is (M, k) sphere indices."""
        g = win[groups]
        return np.stack([g[:, :, 0].min(1), g[:, :, 1].max(1), g[:, :, 2].min(1), g[:, :, 3].max(1)], axis=1)

    def _rays(self, win: tuple[int, int, int, int]) -> tuple[np.ndarray, np.ndarray]:
        u0, u1, v0, v1 = win
        return self.ray_x[None, u0:u1], self.ray_y[v0:v1, None]

    def _dd(self, win: tuple[int, int, int, int]) -> np.ndarray:
        """|d|^2 over the window."""
        u0, u1, v0, v1 = win
        return self.ray_x2[None, u0:u1] + self.ray_y2[v0:v1, None]

    @staticmethod
    def _linear(a: np.ndarray, b: np.ndarray, v0: float, v1: float, v2: float) -> np.ndarray:
        """v . (a, b, 1) over the window: one full-size operation (the rest is on rows/columns)."""
        return (a * v0 + v2) + b * v1

    def write(self, win: tuple[int, int, int, int], t: np.ndarray, label: int) -> None:
        """Keep the nearer of buffer and t (NaN in t = no hit)."""
        u0, u1, v0, v1 = win
        buf = self.depth[v0:v1, u0:u1]
        nearer = t < buf
        np.fmin(buf, t, out=buf)
        np.copyto(self.label[v0:v1, u0:u1], np.uint8(label), where=nearer)

    # ---- sphere meshes ----
    def sphere_mesh(self, spheres: np.ndarray, cones: np.ndarray, triangles: np.ndarray, label: int) -> None:
        """Cast a whole sphere mesh: every sphere once, every round-cone side once, every triangle's facets."""
        spheres = np.asarray(spheres, dtype=np.float64)
        win = self.sphere_windows(spheres)
        self._spheres(spheres, self.clip_windows(win), label)
        if len(cones):
            self._cone_sides(spheres, np.asarray(cones), self.clip_windows(self.union_windows(win, cones)), label)
        if len(triangles):
            self._facets(spheres, np.asarray(triangles), self.clip_windows(self.union_windows(win, triangles)),
                         label)

    def spheres(self, spheres: np.ndarray, label: int) -> None:
        spheres = np.asarray(spheres, dtype=np.float64).reshape(-1, 4)
        self._spheres(spheres, self.clip_windows(self.sphere_windows(spheres)), label)

    def _spheres(self, spheres: np.ndarray, windows: list, label: int) -> None:
        for (cx, cy, cz, radius), win in zip(spheres.tolist(), windows):
            if win is None:
                continue
            a, b = self._rays(win)
            dd = self._dd(win)
            # |d x c|^2 = |d|^2 * (distance of the centre from the ray)^2, computed without cancellation.
            cross2 = ((b * cz - cy) ** 2 + (cx - a * cz) ** 2) + (a * cy - b * cx) ** 2
            disc = (radius * radius) * dd - cross2
            with np.errstate(invalid="ignore"):
                t = (self._linear(a, b, cx, cy, cz) - np.sqrt(disc)) / dd
            if cz - radius <= NEAR_MM:
                t = np.where(t > NEAR_MM, t, np.nan)
            self.write(win, t, label)

    def _cone_sides(self, spheres: np.ndarray, cones: np.ndarray, windows: list, label: int) -> None:
        """Sides of round cones. With axis ax from c1 to c2, sin(a) = (r1 - r2) / length, h the axial and rho the
        radial coordinate of a point from c1, the side is cos(a) rho = r1 - h sin(a) with h between the circles
        of tangency. Along the ray X = t d this is a quadratic in t (divided here by cos(a)^2)."""
        s1, s2 = spheres[cones[:, 0]], spheres[cones[:, 1]]
        c1, r1, r2 = s1[:, :3], s1[:, 3], s2[:, 3]
        axis = s2[:, :3] - c1
        length = np.linalg.norm(axis, axis=1)
        has_side = length > np.abs(r1 - r2) + 1e-6
        length = np.where(has_side, length, 1.0)
        ax = axis / length[:, None]
        sin_a = np.where(has_side, (r1 - r2) / length, 0.0)
        cos_a = np.sqrt(1.0 - sin_a ** 2)
        ca = np.sum(c1 * ax, axis=1)
        k = r1 + sin_a * ca
        c_perp2 = np.sum(np.cross(c1, ax) ** 2, axis=1)
        qc4 = 4.0 * (c_perp2 - k * k / cos_a ** 2)
        ax_scaled = ax / cos_a[:, None]
        qb_coef = 2.0 * (ca + sin_a * k / cos_a ** 2)[:, None] * ax - 2.0 * c1
        # Valid hits have their axial coordinate between the circles of tangency: |t da - td_mid| <= td_half.
        td_mid = (0.5 * (r1 * sin_a + length + r2 * sin_a) + ca) / cos_a
        td_half = 0.5 * (length + r2 * sin_a - r1 * sin_a) / cos_a
        in_front = np.minimum(s1[:, 2] - r1, s2[:, 2] - r2) > NEAR_MM
        rows = zip(has_side.tolist(), windows, ax_scaled.tolist(), qb_coef.tolist(), qc4.tolist(), td_mid.tolist(),
                   td_half.tolist(), in_front.tolist())
        for side, win, axs, qbc, qc4_i, mid, half, front in rows:
            if not side or win is None:
                continue
            a, b = self._rays(win)
            da = self._linear(a, b, *axs)
            qa = self._dd(win) - da * da
            qb = self._linear(a, b, *qbc)
            with np.errstate(invalid="ignore", divide="ignore"):
                sq = np.sqrt(qb * qb - qc4_i * qa)
                neg_inv = -0.5 / qa
                t = (qb + sq) * neg_inv
                # qa > 0 (ray outside the cone's aperture): the line meets one nappe twice and the smaller root
                # is the only possible entry. Rays inside the aperture (qa < 0) need the other root too.
                best = np.where(np.abs(t * da - mid) <= half, t, np.nan)
                if qa.min() < 0:
                    t2 = (qb - sq) * neg_inv
                    best = np.fmin(best, np.where(np.abs(t2 * da - mid) <= half, t2, np.nan))
                if not front:
                    best = np.where(best > NEAR_MM, best, np.nan)
            self.write(win, best, label)

    def _facets(self, spheres: np.ndarray, triangles: np.ndarray, windows: list, label: int) -> None:
        """Camera-facing tangent-plane facets of sphere-swept triangles. The outward facet normal n solves
        n . (c_i - c_0) = r_0 - r_i with |n| = 1 (two solutions, one per side); the facet is the triangle of
        tangent points p_i = c_i + r_i n. With t = offset / (n . d), n . d < 0, the edge test
        t (E . d) >= E . p_k becomes the linear test (offset E - (E . p_k) n) . d <= 0."""
        c, r = spheres[triangles, :3], spheres[triangles, 3]            # (K, 3, 3), (K, 3)
        e1, e2 = c[:, 1] - c[:, 0], c[:, 2] - c[:, 0]
        normal = np.cross(e1, e2)
        nn = np.linalg.norm(normal, axis=1)
        ok = nn > 1e-9
        m = normal / np.where(ok, nn, 1.0)[:, None]
        g11, g12, g22 = (e1 * e1).sum(1), (e1 * e2).sum(1), (e2 * e2).sum(1)
        det = np.where(ok, g11 * g22 - g12 * g12, 1.0)
        rhs1, rhs2 = r[:, 0] - r[:, 1], r[:, 0] - r[:, 2]
        n0 = (((g22 * rhs1 - g12 * rhs2) / det)[:, None] * e1 + ((g11 * rhs2 - g12 * rhs1) / det)[:, None] * e2)
        rest = 1.0 - (n0 * n0).sum(1)
        ok &= rest > 1e-9  # otherwise no plane touches all three spheres
        root = np.sqrt(np.maximum(rest, 0.0))[:, None]
        for sign in (-1.0, 1.0):
            n = n0 + sign * root * m                                    # (K, 3) outward normals
            p = c + r[:, :, None] * n[:, None, :]                       # (K, 3, 3) tangent points
            offset = (n * p[:, 0]).sum(1)
            coefs = []
            for j in range(3):
                edge_normal = np.cross(n, p[:, (j + 1) % 3] - p[:, j])
                flip = ((edge_normal * (p[:, (j + 2) % 3] - p[:, j])).sum(1) < 0)
                edge_normal[flip] *= -1.0
                coefs.append(offset[:, None] * edge_normal - (edge_normal * p[:, j]).sum(1)[:, None] * n)
            # The camera must be in front of the facet's plane (offset < 0), else it is a back face.
            front = (ok & (offset < 0)).tolist()
            rows = zip(front, windows, n.tolist(), offset.tolist(), *(q.tolist() for q in coefs))
            for is_front, win, n_k, off, coef0, coef1, coef2 in rows:
                if not is_front or win is None:
                    continue
                a, b = self._rays(win)
                nd = self._linear(a, b, *n_k)
                inside = nd < 0
                inside &= self._linear(a, b, *coef0) <= 0
                inside &= self._linear(a, b, *coef1) <= 0
                inside &= self._linear(a, b, *coef2) <= 0
                with np.errstate(divide="ignore", invalid="ignore"):
                    self.write(win, np.where(inside, off / nd, np.nan), label)

    # ---- scene primitives ----
    def plane(self, normal: np.ndarray, offset_mm: float, label: int, max_depth_mm: float = np.inf) -> None:
        """The plane {X : normal . X = offset_mm} over the whole image (hits beyond max_depth_mm ignored)."""
        a, b = self.ray_x[None, :], self.ray_y[:, None]
        nd = self._linear(a, b, *(float(v) for v in normal))
        with np.errstate(divide="ignore", invalid="ignore"):
            t = float(offset_mm) / nd
        t = np.where((t > NEAR_MM) & (t < max_depth_mm), t, np.nan)
        self.write((0, self.width, 0, self.height), t, label)

    def box(self, centre: np.ndarray, rotation: np.ndarray, half_mm: np.ndarray, label: int) -> None:
        """Oriented box: rotation's columns are the box axes in the camera frame, half_mm the half extents."""
        corners = np.array([[sx, sy, sz] for sx in (-1, 1) for sy in (-1, 1) for sz in (-1, 1)]) * half_mm
        pts = corners @ rotation.T + centre
        bound = np.concatenate([(pts.min(0) + pts.max(0)) / 2, [np.linalg.norm(pts.max(0) - pts.min(0)) / 2]])
        win = self.clip_windows(self.sphere_windows(bound[None]))[0]
        if win is None:
            return
        a, b = self._rays(win)
        origin = -rotation.T @ centre
        t_near = np.full(np.broadcast_shapes(a.shape, b.shape), -np.inf, dtype=DTYPE)
        t_far = np.full_like(t_near, np.inf)
        with np.errstate(divide="ignore", invalid="ignore"):
            for k in range(3):
                dk = self._linear(a, b, *rotation[:, k].tolist())
                t1 = float(-half_mm[k] - origin[k]) / dk
                t2 = float(half_mm[k] - origin[k]) / dk
                t_near = np.fmax(t_near, np.fmin(t1, t2))
                t_far = np.fmin(t_far, np.fmax(t1, t2))
        self.write(win, np.where((t_near <= t_far) & (t_near > NEAR_MM), t_near, np.nan), label)

    def cylinder(self, c1: np.ndarray, c2: np.ndarray, radius: float, label: int) -> None:
        """Solid cylinder with flat caps between centres c1 and c2."""
        c1, c2 = np.asarray(c1, dtype=np.float64), np.asarray(c2, dtype=np.float64)
        axis = c2 - c1
        length = float(np.linalg.norm(axis))
        ax = axis / length
        win = self.clip_windows(self.union_windows(
            self.sphere_windows(np.array([[*c1, radius], [*c2, radius]])), np.array([[0, 1]])))[0]
        if win is None:
            return
        radius = float(radius)
        a, b = self._rays(win)
        da = self._linear(a, b, *ax.tolist())
        ca = float(c1 @ ax)
        # Lateral surface: |X - c1|^2 - ((X - c1) . ax)^2 = radius^2, written with the perpendicular part of c1.
        c_perp = c1 - ca * ax
        d_perp2 = self._dd(win) - da * da
        half_b = -self._linear(a, b, *c_perp.tolist())
        disc = half_b * half_b - d_perp2 * (float(c_perp @ c_perp) - radius * radius)
        with np.errstate(invalid="ignore", divide="ignore"):
            t = (-half_b - np.sqrt(disc)) / d_perp2
            h = t * da - ca
            best = np.where((t > NEAR_MM) & (h >= 0) & (h <= length), t, np.nan)
            for centre in (c1, c2):
                tc = float(centre @ ax) / da
                px, py, pz = tc * a - float(centre[0]), tc * b - float(centre[1]), tc - float(centre[2])
                inside = (px * px + py * py + pz * pz <= radius * radius) & (tc > NEAR_MM)
                best = np.fmin(best, np.where(inside, tc, np.nan))
        self.write(win, best, label)


def _cross(u, v) -> tuple[float, float, float]:
    """Cross product of two 3-vectors as Python floats (np.cross is slow for single vectors)."""
    return (float(u[1] * v[2] - u[2] * v[1]), float(u[2] * v[0] - u[0] * v[2]), float(u[0] * v[1] - u[1] * v[0]))
