"""Loopback stand-ins that speak the providers' documented APIs (Infobip, Twilio) and post
their callbacks back, for the tests and the `tidings bench dispatch` workloads. They are
shipped with the package because the benchmarks start them; nothing else imports them."""
