"""The compiled stiff integrator, RODAS4, and the pseudo-transient resting-state Newton, as importable Python.

The kernels here (:func:`rodas4_batch`, :func:`rest_newton`, :func:`rest_newton_batch`) are plain Python written
against four model functions, :func:`rhs_into`, :func:`jac_into`, :func:`lu_factor` and :func:`lu_solve`.
:func:`bind` compiles them with numba against one model's generated versions of those four, so the model's
right-hand side, Jacobian and sparse LU are inlined into one machine-code loop: no Python between steps, and no
allocation inside the loop. Called without a model, the stubs below say what each function must do. The bound
kernels are cached by numba next to the model's generated module, so a second process loads machine code.

Method: RODAS4 (Hairer & Wanner 1996, *Solving Ordinary Differential Equations II*, 2nd ed., §IV.7), a 6-stage
Rosenbrock method of order 4 with an embedded order-3 error estimate, stiffly accurate and L-stable. The
coefficients are Hairer's, in the transformed form used by the Kinetic PreProcessor's Rosenbrock integrators
(Sandu et al. 1997, Atmos Environ 31:3459; Damian et al. 2002, Comput Chem Eng 26:1567): the stage matrix
``G = I/(h*gamma) - J`` is factorised once per step and reused by all six stage solves. The model is autonomous
within a segment (its inputs are constant there), so the time-derivative terms vanish.

Every function uses IEEE division (``error_model="numpy"``): a zero divisor gives inf or NaN, which the step
control reports as a NONFINITE status, instead of an exception that would abort every subject of the call. The
driver releases the GIL (``nogil``), so a server thread can integrate while others answer requests.

Every subject has its own step size and error control, so a batch of subjects gives bit-for-bit the same result
as the same subjects run one at a time. Output values between steps come from the cubic Hermite interpolant
on the step's end values and slopes (the slope at the end is the next step's first stage, so it is free).
"""

import math
import types

import numpy as np
from numba import njit

from gutjoint._numerics.status import Status

STATUS_SUCCESS = Status.SUCCESS.engine_code
STATUS_STEP_LIMIT = Status.STEP_LIMIT.engine_code
STATUS_TOLERANCE = Status.TOLERANCE.engine_code
STATUS_NONFINITE = Status.NONFINITE.engine_code
STATUS_NEGATIVE = Status.NEGATIVE.engine_code
STATUS_CONVERGENCE = Status.CONVERGENCE.engine_code

RODAS4_GAMMA = 0.25
# Strictly lower triangular stage coefficients A (for the stage state) and C (for the stage right-hand side).
RODAS4_A = np.array([
    [0.0, 0.0, 0.0, 0.0, 0.0],
    [1.544, 0.0, 0.0, 0.0, 0.0],
    [0.9466785280815826, 0.2557011698983284, 0.0, 0.0, 0.0],
    [3.314825187068521, 2.896124015972201, 0.9986419139977817, 0.0, 0.0],
    [1.221224509226641, 6.019134481288629, 12.53708332932087, -0.687886036105895, 0.0],
    [1.221224509226641, 6.019134481288629, 12.53708332932087, -0.687886036105895, 1.0],
])
RODAS4_C = np.array([
    [0.0, 0.0, 0.0, 0.0, 0.0],
    [-5.6688, 0.0, 0.0, 0.0, 0.0],
    [-2.430093356833875, -0.2063599157091915, 0.0, 0.0, 0.0],
    [-0.1073529058151375, -9.594562251023355, -20.47028614809616, 0.0, 0.0],
    [7.496443313967647, -10.24680431464352, -33.99990352819905, 11.7089089320616, 0.0],
    [8.083246795921522, -7.981132988064893, -31.52159432874371, 16.31930543123136, -6.058818238834054],
])
# New solution: y + sum(M_j K_j), with M = (A[5, :4], 1, 1) (stiffly accurate); error estimate: K_6.

_FAC_MIN = 0.2  # largest step shrink after an error-test failure
_FAC_MAX = 6.0  # largest step growth after a success
_SAFETY = 0.9
_SHORTEST_SEGMENT = 1e-12  # relative to the time: segments this short are crossed in one explicit step
_PIVOT_FLOOR = 1e-12  # |pivot| / (1/(h*gamma) + |J_kk|) below this: the step is retried with h / 4


# The model interface: a generated model module defines these four (numba-compiled); :func:`bind` puts them in
# place of the stubs.
MODEL_FUNCTIONS = ("rhs_into", "jac_into", "lu_factor", "lu_solve")


def rhs_into(y, p, u, dy):
    """Write ``dy/dt = f(y, p, u)`` into ``dy``."""
    raise NotImplementedError("supplied by the model: see bind()")


def jac_into(y, p, u, J):
    """Write the Jacobian ``df/dy`` into ``J`` (only its structural nonzeros are written)."""
    raise NotImplementedError("supplied by the model: see bind()")


def lu_factor(J, c, M):
    """Factorise ``diag(c) - J`` into ``M`` in place; return the smallest |pivot| relative to ``c + |J|`` on its diagonal."""
    raise NotImplementedError("supplied by the model: see bind()")


def lu_solve(M, b):
    """Solve with the factors in ``M``, overwriting ``b`` with the solution."""
    raise NotImplementedError("supplied by the model: see bind()")


@njit(cache=True, error_model="numpy")
def _weighted_rms(v, y_a, y_b, rtol, atol):
    total = 0.0
    for i in range(v.size):
        scale = atol[i] + rtol * max(abs(y_a[i]), abs(y_b[i]))
        total += (v[i] / scale) ** 2
    return math.sqrt(total / v.size)


@njit(cache=True, error_model="numpy")
def _first_step(y, f, rtol, atol, span):
    """A first step from the size of the state and its slope (Hairer, Norsett & Wanner 1993, §II.4)."""
    d0 = _weighted_rms(y, y, y, rtol, atol)
    d1 = _weighted_rms(f, y, y, rtol, atol)
    h = 0.01 * d0 / d1 if (d0 >= 1e-5 and d1 >= 1e-5) else 1e-6 * span  # also when either is NaN
    return min(max(h, 1e-10 * span), span) if math.isfinite(h) else 1e-6 * span


def rodas4_step(y, f0, p, u, h, rtol, atol, J, LU, shift, K, c_over_h, y_stage, rhs_stage, y_new):
    """One RODAS4 step of size ``h`` from ``y`` (slope ``f0``): the new state goes into ``y_new``. Returns the
    stage matrix's pivot ratio (at or below ``_PIVOT_FLOOR`` the stages are not computed) and the weighted RMS
    of the embedded error estimate. The other arguments are work arrays: ``J`` and ``LU`` [n, n] (``J`` zeroed
    once), ``shift`` and the stage vectors [n], ``K`` [6, n], ``c_over_h`` [5]."""
    n = y.size
    jac_into(y, p, u, J)
    shift[:] = 1.0 / (h * RODAS4_GAMMA)
    pivot_ratio = lu_factor(J, shift, LU)
    if not pivot_ratio > _PIVOT_FLOOR:
        return pivot_ratio, 0.0
    for stage in range(6):
        if stage == 0:
            rhs_stage[:] = f0
        else:
            for a in range(n):
                acc = y[a]
                for j in range(stage):
                    acc += RODAS4_A[stage, j] * K[j, a]
                y_stage[a] = acc
            rhs_into(y_stage, p, u, rhs_stage)
        for j in range(stage):
            c_over_h[j] = RODAS4_C[stage, j] / h
        for a in range(n):
            acc = rhs_stage[a]
            for j in range(stage):
                acc += c_over_h[j] * K[j, a]
            K[stage, a] = acc
        lu_solve(LU, K[stage])
    for a in range(n):
        y_new[a] = y_stage[a] + K[5, a]  # stiffly accurate: stage 6 state plus K_6
    return pivot_ratio, _weighted_rms(K[5], y, y_new, rtol, atol)


def rodas4_batch(y0, P, seg_bounds, seg_count, seg_inputs, seg_jumps, times, rtol, atol, max_steps,
                 negative_floor, out, info):
    """Integrate each subject through its segments; write states at ``times`` into ``out``.

    y0[k], P[k]: initial state and parameters of subject k. Subject k has ``seg_count[k]`` segments; segment s
    runs from ``seg_bounds[k, s]`` to ``seg_bounds[k, s + 1]`` with inputs ``seg_inputs[k, s]``, and
    ``seg_jumps[k, s]`` is added to the state at its start. ``out`` [subjects, times, states] must come in
    NaN-filled: rows a failed subject never reaches stay NaN. ``info[k]`` receives the status code, accepted
    steps, rejected steps, right-hand-side evaluations and factorisations. ``max_steps`` bounds the steps
    between consecutive output times, as LSODA's ``mxstep`` does.
    """
    n = y0.shape[1]
    n_times = times.size
    y = np.empty(n)
    y_new = np.empty(n)
    y_stage = np.empty(n)
    f0 = np.empty(n)
    f1 = np.empty(n)
    rhs_stage = np.empty(n)
    K = np.empty((6, n))
    c_over_h = np.empty(5)
    J = np.zeros((n, n))
    LU = np.zeros((n, n))
    shift = np.empty(n)
    for k in range(y0.shape[0]):
        p = P[k]
        y[:] = y0[k]
        status = STATUS_SUCCESS
        n_steps = 0
        n_reject = 0
        n_rhs = 0
        n_lu = 0
        i_out = 0
        while i_out < n_times and times[i_out] < seg_bounds[k, 0]:
            i_out += 1
        h = 0.0
        for s in range(seg_count[k]):
            t = seg_bounds[k, s]
            t_end = seg_bounds[k, s + 1]
            last = s == seg_count[k] - 1
            u = seg_inputs[k, s]
            for a in range(n):
                y[a] += seg_jumps[k, s, a]
            while i_out < n_times and times[i_out] <= t:  # values at a boundary are those after the change
                out[k, i_out, :] = y
                i_out += 1
            if t_end <= t:
                continue
            rhs_into(y, p, u, f0)
            n_rhs += 1
            if t_end - t <= _SHORTEST_SEGMENT * max(1.0, abs(t_end)):
                # Shorter than any step the error control could take (two boundaries a rounding apart): one
                # explicit Euler step, exact to O(span^2), so the segment is crossed instead of failing.
                for a in range(n):
                    y[a] += (t_end - t) * f0[a]
                if last:
                    while i_out < n_times and times[i_out] <= t_end:
                        out[k, i_out, :] = y
                        i_out += 1
                continue
            guess = _first_step(y, f0, rtol, atol, t_end - t)
            h = guess if h <= 0.0 else min(h, guess)
            rejected_last = False
            steps_since_output = 0
            err = 0.0
            while t < t_end:
                if steps_since_output >= max_steps:
                    status = STATUS_STEP_LIMIT
                    break
                if not h >= 1e-14 * max(1.0, abs(t)):
                    status = STATUS_TOLERANCE if math.isfinite(err) else STATUS_NONFINITE
                    break
                final = t + h >= t_end - 1e-12 * max(1.0, abs(t_end))
                if final:
                    h = t_end - t
                pivot_ratio, step_err = rodas4_step(y, f0, p, u, h, rtol, atol, J, LU, shift, K, c_over_h,
                                                    y_stage, rhs_stage, y_new)
                n_lu += 1
                if not pivot_ratio > _PIVOT_FLOOR:
                    n_reject += 1
                    h *= 0.25
                    rejected_last = True
                    if n_reject > 50 * (n_steps + 1):
                        status = STATUS_CONVERGENCE
                        break
                    continue
                n_rhs += 5
                err = step_err
                if not err <= 1.0:  # also catches NaN
                    n_reject += 1
                    h *= max(_FAC_MIN, _SAFETY * err ** -0.25) if err < 1e300 else 0.25  # NaN/inf: quarter h
                    rejected_last = True
                    continue
                t_new = t_end if final else t + h
                n_steps += 1
                steps_since_output += 1
                ok = True
                scale = 0.0
                low = 0.0
                for a in range(n):
                    if not math.isfinite(y_new[a]):
                        ok = False
                    scale = max(scale, abs(y_new[a]))
                    low = min(low, y_new[a])
                if not ok:
                    status = STATUS_NONFINITE
                    break
                if low < negative_floor * max(1.0, scale):
                    status = STATUS_NEGATIVE
                    break
                rhs_into(y_new, p, u, f1)
                n_rhs += 1
                while i_out < n_times and (times[i_out] < t_new or (times[i_out] <= t_new and (last or not final))):
                    theta = (times[i_out] - t) / h
                    if theta >= 1.0:
                        out[k, i_out, :] = y_new
                    else:  # cubic Hermite on (y, f0) and (y_new, f1)
                        h00 = (1.0 + 2.0 * theta) * (1.0 - theta) ** 2
                        h10 = theta * (1.0 - theta) ** 2
                        h01 = theta * theta * (3.0 - 2.0 * theta)
                        h11 = theta * theta * (theta - 1.0)
                        for a in range(n):
                            out[k, i_out, a] = h00 * y[a] + h01 * y_new[a] + h * (h10 * f0[a] + h11 * f1[a])
                    i_out += 1
                    steps_since_output = 0
                t = t_new
                y[:] = y_new
                f0[:] = f1
                grow = _FAC_MAX if err < 1e-12 else min(_FAC_MAX, _SAFETY * err ** -0.25)
                if rejected_last:
                    grow = min(grow, 1.0)
                h *= grow
                rejected_last = False
            if status != STATUS_SUCCESS:
                break
        info[k, 0] = status
        info[k, 1] = n_steps
        info[k, 2] = n_reject
        info[k, 3] = n_rhs
        info[k, 4] = n_lu


def rest_newton(y, p, u, fixed, tol, max_iter):
    """Steady state by pseudo-transient continuation: Newton steps ``(I/dt - J) dy = f`` with ``dt`` growing as
    the residual falls (switched evolution relaxation; Mulder & Van Leer 1985), so far from the root it follows
    the dynamics and near it it is plain Newton. States with ``fixed[i]`` are held (an infinite shift). ``y`` is
    updated in place; returns the final scaled residual max |f_i| / max(|y_i|, 1e-3) over the free states, or
    inf when the iteration failed (the caller then falls back to a general root finder)."""
    n = y.size
    f = np.empty(n)
    J = np.zeros((n, n))
    LU = np.zeros((n, n))
    shift = np.empty(n)
    y_try = np.empty(n)
    dt = 1.0
    rhs_into(y, p, u, f)
    residual = _scaled_residual(f, y, fixed)
    for _ in range(max_iter):
        if residual < tol:
            return residual
        jac_into(y, p, u, J)
        for i in range(n):
            shift[i] = 1e30 if fixed[i] else 1.0 / dt
        if not lu_factor(J, shift, LU) > _PIVOT_FLOOR:
            dt *= 0.25
            continue
        step = f.copy()
        for i in range(n):
            if fixed[i]:
                step[i] = 0.0
        lu_solve(LU, step)
        ok = True
        for i in range(n):
            y_try[i] = y[i] + step[i]
            if not (y_try[i] >= -1e-12 * max(1.0, abs(y[i]))):  # also NaN
                ok = False
        if not ok:
            dt *= 0.25
            if dt < 1e-12:
                return np.inf
            continue
        rhs_into(y_try, p, u, f)
        new_residual = _scaled_residual(f, y_try, fixed)
        if not math.isfinite(new_residual):
            rhs_into(y, p, u, f)
            dt *= 0.25
            continue
        y[:] = y_try
        dt = min(dt * max(1.0, residual / max(new_residual, 1e-300)), 1e12)
        residual = new_residual
    return residual if residual < tol else np.inf


def rest_newton_batch(Y, P, U, fixed, tol, max_iter, residuals):
    """:func:`rest_newton` for each row of ``Y`` (updated in place) under the rows of ``P`` and ``U``; the residuals
    go into ``residuals``. One call for a whole batch: the same iterations as row-by-row calls, without a
    Python round trip per subject."""
    for k in range(Y.shape[0]):
        residuals[k] = rest_newton(Y[k], P[k], U[k], fixed, tol, max_iter)


@njit(cache=True, error_model="numpy")
def _scaled_residual(f, y, fixed):
    worst = 0.0
    for i in range(y.size):
        if not fixed[i]:
            if not (math.isfinite(f[i]) and math.isfinite(y[i])):
                return np.inf
            worst = max(worst, abs(f[i]) / max(abs(y[i]), 1e-3))
    return worst


KERNELS = ("rodas4_step", "rodas4_batch", "rest_newton", "rest_newton_batch")  # callees before their callers
_KERNEL_OPTIONS = {"cache": True, "nogil": True, "error_model": "numpy"}


def bind(namespace: dict) -> tuple:
    """Compile the kernels against the model functions in ``namespace`` (a generated module's ``globals()``).

    Each kernel becomes a function of that module (its globals, its file), so numba resolves the model functions
    there and caches the machine code beside the module: one cache entry per model. The names the kernels use
    from this module (the tableau, the helpers, the status codes) are added to ``namespace``. Returns the compiled
    kernels in the order of :data:`KERNELS`.
    """
    missing = [name for name in MODEL_FUNCTIONS if name not in namespace]
    if missing:
        raise TypeError(f"bind: the model module defines no {', '.join(missing)}")
    ours = globals()
    compiled = []
    for name in KERNELS:
        code = ours[name].__code__
        for used in code.co_names:
            if used in ours and used not in MODEL_FUNCTIONS:
                namespace.setdefault(used, ours[used])
        function = types.FunctionType(code.replace(co_filename=namespace["__file__"]), namespace, name)
        function.__doc__ = ours[name].__doc__
        namespace[name] = njit(**_KERNEL_OPTIONS)(function)
        compiled.append(namespace[name])
    return tuple(compiled)
