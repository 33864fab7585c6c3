"""Docflow's shared library: what every service and the gateway import."""

import warnings

# eventlet announces its maintenance mode on import; nameko 2.14 needs it all the same.
warnings.filterwarnings("ignore", message=r"(?s).*Eventlet is deprecated")
