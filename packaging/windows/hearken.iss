; Inno Setup script for Hearken on Windows (not built or tested on this project's machines).
; Build on Windows, from the repo root, after the one-folder app exists:
;   set HEARKEN_WINDOWED=1 & pyinstaller --noconfirm packaging\hearken.spec   (-> dist\hearken\)
;   iscc packaging\windows\hearken.iss                                         (-> dist\hearken-setup.exe)
; Keep AppVersion in step with app/__init__.py.
#define AppVersion "0.1.0"

[Setup]
AppId={{6E1B7C0A-3F5D-4C8E-9B2A-4D7E1F0C9A55}
AppName=Hearken
AppVersion={#AppVersion}
AppPublisher=Hearken developers
DefaultDirName={autopf}\Hearken
DefaultGroupName=Hearken
OutputDir=..\..\dist
OutputBaseFilename=hearken-{#AppVersion}-setup
Compression=lzma2/fast
SolidCompression=no
ArchitecturesAllowed=x64compatible
ArchitecturesInstallIn64BitMode=x64compatible
PrivilegesRequiredOverridesAllowed=dialog
UninstallDisplayIcon={app}\hearken.exe
LicenseFile=..\linux\copyright

[Tasks]
Name: "desktopicon"; Description: "Create a desktop shortcut"; Flags: unchecked

[Files]
Source: "..\..\dist\hearken\*"; DestDir: "{app}"; Flags: recursesubdirs createallsubdirs ignoreversion

[Icons]
Name: "{group}\Hearken"; Filename: "{app}\hearken.exe"
Name: "{autodesktop}\Hearken"; Filename: "{app}\hearken.exe"; Tasks: desktopicon

[Run]
; The first start runs every native engine once in a child process and says plainly if one crashes.
Filename: "{app}\hearken.exe"; Description: "Start Hearken"; Flags: nowait postinstall skipifsilent
