"""
Whether a Ceph RBD store's client reaches its pool: a wrong
``client_glance_key`` fails the apply instead of a user's first upload.

.. code-block:: yaml

    glance-rbd-store-reachable:
      glance_store.rbd_reachable:
        - name: ceph
        - user: glance
        - pool: images
        - keyring: /etc/ceph/ceph.client.glance.keyring
        - conf: /etc/ceph/ceph.conf

``name``
    The store's id, for the messages.
``user``, ``pool``, ``keyring``, ``conf``
    The store's Ceph client (without ``client.``), pool, keyring and
    ceph.conf, as glance-api uses them.
``service_user``
    The user the check runs as (``runuser -u``): the keyring must be
    readable by the service's user, not only by root. Not ``runas``: Salt
    would run the whole state as that user.
``python``
    The Python that runs Glance (its python3-rados and python3-rbd).
``timeout``
    Seconds for each of connecting to the monitors and the pool operation,
    so that a Ceph that does not answer fails the check in bounded time.

The check lists the pool's rbd images (what glance-api needs to be allowed
to do) and changes nothing, so a dry run runs it too, with the files as
they are; only while the keyring or ceph.conf is not written yet does a dry
run answer None. The key itself is never read here nor shown.
"""

__virtualname__ = "glance_store"

# Run by Glance's Python as the service user: argv is conf, user, keyring,
# pool, timeout. Prints the reason of a failure, exit 1.
CHECK = r"""
import sys
conf, user, keyring, pool, timeout = sys.argv[1:6]
try:
    import rados
    import rbd
    cluster = rados.Rados(conffile=conf, rados_id=user, conf={
        "keyring": keyring, "client_mount_timeout": timeout, "rados_mon_op_timeout": timeout,
        "rados_osd_op_timeout": timeout, "log_to_stderr": "false", "err_to_stderr": "false"})
    try:
        cluster.connect()
        with cluster.open_ioctx(pool) as ioctx:
            rbd.RBD().list(ioctx)
    finally:
        cluster.shutdown()
except Exception as error:
    print(f"{type(error).__name__}: {error}")
    sys.exit(1)
"""
# What a failure shows of the check's output: its last lines say why.
OUTPUT_TAIL = 1000


def __virtual__():
    return __virtualname__


def rbd_reachable(name, user, pool, keyring, conf="/etc/ceph/ceph.conf", service_user="glance",
                  python="/usr/bin/python3", timeout=30):
    """Succeed when ``client.<user>`` lists ``pool`` with ``keyring``."""
    ret = {"name": name, "changes": {}, "result": True, "comment": ""}
    client = f"client.{user}"
    missing = [path for path in (keyring, conf) if not __salt__["file.file_exists"](path)]
    if missing and __opts__["test"]:
        ret.update(result=None, comment=f"{client} is checked against pool {pool} once "
                                        f"{' and '.join(missing)} is written")
        return ret
    command = ["runuser", "-u", service_user, "--", python, "-I", "-", conf, user, keyring, pool, str(int(timeout))]
    # The hard bound covers connecting and the pool operation, plus Python's start.
    run = __salt__["cmd.run_all"](command, stdin=CHECK, stdin_raw_newlines=True, python_shell=False,
                                  ignore_retcode=True, output_loglevel="quiet", timeout=2 * int(timeout) + 15)
    if run["retcode"] == 0:
        ret["comment"] = f"{client} reaches pool {pool} with {keyring}"
        return ret
    said = (run["stdout"].strip() or run["stderr"].strip() or f"exit {run['retcode']}")[-OUTPUT_TAIL:]
    # ETIMEDOUT (or the hard bound) is Ceph not answering; anything else is
    # more likely the key.
    if "[errno 110]" in said or run["retcode"] != 1:
        hint = f"Ceph did not answer within {int(timeout)} s: monitors or OSDs down or unreachable?"
    else:
        hint = "wrong client_glance_key, caps or monitors?"
    ret.update(result=False, comment=f"Ceph store {name}: {client} cannot reach pool {pool} with the keyring "
                                     f"{keyring} and {conf} ({hint}): {said}")
    return ret
