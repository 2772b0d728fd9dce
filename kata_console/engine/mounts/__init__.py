"""Mount chains: the mount table as the kernel wrote it, the resolver that follows each
overlay lowerdir down to its backing file, and Kata's EROFS rootfs rules. Needs nothing of
the lifecycle."""
