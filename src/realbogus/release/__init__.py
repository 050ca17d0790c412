"""The DES-SN autoScan release format: its layout, a reader, and (for simulation) a writer."""
