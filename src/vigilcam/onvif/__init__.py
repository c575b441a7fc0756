"""ONVIF Profile S edge: SOAP 1.2 over the HTTPS listener (off until the owner turns it on)."""
