"""SSDP (UPnP discovery) M-SEARCH sent unicast to udp/1900: a `200 OK` means the device
answers discovery from whoever asks."""

from __future__ import annotations

M_SEARCH = (b"M-SEARCH * HTTP/1.1\r\nHOST: 239.255.255.250:1900\r\nMAN: \"ssdp:discover\"\r\n"
            b"MX: 1\r\nST: ssdp:all\r\n\r\n")


def msearch() -> bytes:
    return M_SEARCH


def answered(data: bytes) -> bool:
    head = data[:64].upper()
    return head.startswith(b"HTTP/1.1 200") or head.startswith(b"HTTP/1.0 200")
