"""A two-state linear model written by hand, bound to the RODAS4 kernels without the code generator.

``dy/dt = A y + (0, u)`` with ``A = [[p0, p1], [p2, p3]]``, so its solution is ``expm(A t) y0`` when ``u = 0``, and
eigenvalues far apart make it as stiff as wished. The four functions follow the model interface of
:mod:`gutjoint._numerics.rodas4` (the factorisation keeps the inverse pivot on the diagonal, as the generated
sparse LU does).
"""

from numba import njit

from gutjoint._numerics import rodas4


@njit(cache=True)
def rhs_into(y, p, u, dy):
    dy[0] = p[0] * y[0] + p[1] * y[1]
    dy[1] = p[2] * y[0] + p[3] * y[1] + u[0]


@njit(cache=True)
def jac_into(y, p, u, J):
    J[0, 0] = p[0]
    J[0, 1] = p[1]
    J[1, 0] = p[2]
    J[1, 1] = p[3]


@njit(cache=True)
def lu_factor(J, c, M):
    M[0, 0] = c[0] - J[0, 0]
    M[0, 1] = -J[0, 1]
    M[1, 0] = -J[1, 0]
    M[1, 1] = c[1] - J[1, 1]
    worst = abs(M[0, 0]) / (c[0] + abs(J[0, 0]))
    M[0, 0] = 1.0 / M[0, 0]
    M[1, 0] *= M[0, 0]
    M[1, 1] -= M[1, 0] * M[0, 1]
    worst = min(worst, abs(M[1, 1]) / (c[1] + abs(J[1, 1])))
    M[1, 1] = 1.0 / M[1, 1]
    return worst


@njit(cache=True)
def lu_solve(M, b):
    b[1] -= M[1, 0] * b[0]
    b[1] *= M[1, 1]
    b[0] -= M[0, 1] * b[1]
    b[0] *= M[0, 0]


rodas4_step, rodas4_batch, rest_newton, rest_newton_batch = rodas4.bind(globals())
