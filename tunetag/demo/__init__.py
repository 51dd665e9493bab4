"""The built-in demo: a synthesised library (`tunetag.demo.library`) and the whole job on
it (`python -m tunetag.demo.run`)."""
