"""A UDP relay between a board and a host peer that loses chosen datagrams, so tests can show that DTLS
retransmission timers recover a handshake. It is the impairment proxy (impairment.py) told which datagrams to
drop, with no random impairment."""

from mpssl_hil.peers.impairment import LossyUdpRelay

__all__ = ["LossyUdpRelay"]
