from trilink.cli.app import main

main()
